// weft::run(main): asyncio.run. Makes a runtime, runs `main` (a coroutine or a callable) as a
// task to the end, returns its result or rethrows its exception, then cancels and awaits the
// tasks left over, shuts down the to_thread pool and joins the workers.
#pragma once

#include <memory>
#include <type_traits>

#include "weft/detail/blocking_wait.hpp"
#include "weft/future.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
// RuntimeError if called from inside a running runtime.
void check_not_in_runtime(const char* what);
}  // namespace detail

template <class C>
auto run(C&& main, RunOptions options = {}) {
  detail::check_not_in_runtime("weft::run()");
  auto coroutine = detail::as_coroutine(std::forward<C>(main));
  using R = typename decltype(coroutine)::result_type;
  Runtime runtime(options);
  auto& scheduler = runtime.scheduler();
  auto state = std::allocate_shared<detail::TypedTask<R>>(
      detail::BlockAllocator<detail::TypedTask<R>>(), scheduler, std::move(coroutine),
      std::string(), detail::current_context());
  Task<R> task(state);
  // asyncio.run stops the loop as soon as main is done and cancels what is left. Main's done
  // callback does it on the runtime, right after the steps already queued (asyncio's order, on
  // one worker); left to shutdown() alone, the leftovers would run on meanwhile -- in virtual
  // time the clock could even jump to their timers -- or, cancelled from this thread, lose the
  // step asyncio gives them. So the callback goes on before main can run, and we wait for it.
  Future<> leftovers_cancelled;  // made outside any runtime: completes inline
  task.add_done_callback([&scheduler, leftovers_cancelled](Task<R>&) mutable {
    detail::cancel_all_tasks(scheduler);
    leftovers_cancelled.set_result();
  });
  detail::submit_task(scheduler, std::move(state), true);
  detail::wait_until_done(leftovers_cancelled.core(), -1);
  runtime.shutdown();
  if constexpr (std::is_void_v<R>) {
    task.result();
  } else {
    return Value<R>(task.result());
  }
}

}  // namespace weft
