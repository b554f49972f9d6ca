// to_thread(fn, args...): runs blocking work on the runtime's to_thread pool and waits for it
// from the calling task, which suspends meanwhile (asyncio.to_thread). The job runs in a copy of
// the task's Context (its variables go along; its own set()s stay there); the result or
// exception comes back to the awaiting task.
#pragma once

#include <optional>
#include <tuple>
#include <type_traits>

#include "weft/detail/runtime_access.hpp"
#include "weft/future.hpp"

namespace weft {

template <class F, class... Args>
auto to_thread(F fn, Args... args) {
  using R = std::invoke_result_t<F&, Args&...>;
  auto& scheduler = detail::running_scheduler("to_thread");
  Future<R> future;  // bound to the running runtime
  detail::submit_blocking(scheduler,
                          [future, context = detail::copy_current_context(), fn = std::move(fn),
                           arguments = std::make_tuple(std::move(args)...)]() mutable {
                            // asyncio's copy_context().run(fn): a Context of the job's own, so
                            // the task's tokens cannot be reset there nor the job's in the task.
                            detail::ContextScope scope(std::move(context), true);
                            {
                              std::optional<Value<R>> value;
                              std::exception_ptr error;
                              try {
                                if constexpr (std::is_void_v<R>) {
                                  std::apply(fn, arguments);
                                  value.emplace();
                                } else {
                                  value.emplace(std::apply(fn, arguments));
                                }
                              } catch (...) {
                                error = std::current_exception();
                              }
                              try {
                                if (error) {
                                  future.set_exception(error);
                                } else if constexpr (std::is_void_v<R>) {
                                  future.set_result();
                                } else {
                                  future.set_result(std::move(*value));
                                }
                              } catch (const InvalidStateError&) {
                                // The awaiting task was cancelled, which cancelled `future`:
                                // drop the outcome, as asyncio's _copy_future_state does. An
                                // exception escaping here would end the process.
                              }
                            }
                          });
  return future.await();
}

}  // namespace weft
