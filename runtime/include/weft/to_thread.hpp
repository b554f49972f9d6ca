// to_thread(fn, args...): runs blocking work on the runtime's to_thread pool and waits for it
// from the calling task, which suspends meanwhile (asyncio.to_thread). The task's context
// variables go along; the result or exception comes back to the awaiting task.
#pragma once

#include <functional>
#include <tuple>
#include <type_traits>

#include "weft/detail/runtime_access.hpp"
#include "weft/future.hpp"

namespace weft {

namespace detail {
// Runs `job` with `context` as the thread's current context.
void run_in_context(const ContextPtr& context, const std::function<void()>& job);
}  // namespace detail

template <class F, class... Args>
auto to_thread(F fn, Args... args) {
  using R = std::invoke_result_t<F&, Args&...>;
  auto& scheduler = detail::running_scheduler("to_thread");
  Future<R> future;  // bound to the running runtime
  detail::submit_blocking(scheduler,
                          [future, context = detail::current_context(), fn = std::move(fn),
                           arguments = std::make_tuple(std::move(args)...)]() mutable {
                            detail::run_in_context(context, [&] {
                              try {
                                if constexpr (std::is_void_v<R>) {
                                  std::apply(fn, arguments);
                                  future.set_result();
                                } else {
                                  future.set_result(std::apply(fn, arguments));
                                }
                              } catch (...) {
                                future.set_exception(std::current_exception());
                              }
                            });
                          });
  return future.await();
}

}  // namespace weft
