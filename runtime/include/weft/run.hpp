// weft::run(main): asyncio.run. Makes a runtime, runs `main` (a coroutine or a callable) as a
// task to the end, returns its result or rethrows its exception, then cancels and awaits the
// tasks left over, shuts down the to_thread pool and joins the workers.
#pragma once

#include <type_traits>

#include "weft/detail/blocking_wait.hpp"
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
  Task<R> task = detail::make_task(runtime.scheduler(), std::move(coroutine), std::string{}, true);
  detail::wait_until_done(task.core(), -1);
  runtime.shutdown();
  if constexpr (std::is_void_v<R>) {
    task.result();
  } else {
    return Value<R>(task.result());
  }
}

}  // namespace weft
