// run_coroutine_threadsafe(coro, runtime): submits a coroutine from any thread (one that is not
// the runtime's) and returns a concurrent.futures-like future to block on.
//
//   auto f = weft::run_coroutine_threadsafe(weft::coro(work), rt);
//   try { f.result(std::chrono::seconds(1)); } catch (const weft::TimeoutError&) { f.cancel(); }
#pragma once

#include <chrono>
#include <optional>

#include "weft/detail/blocking_wait.hpp"
#include "weft/future.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

template <class R>
class ConcurrentFuture {
 public:
  ConcurrentFuture(Task<R> task, Future<R> future) : task_(std::move(task)), future_(future) {}

  // Blocks until done (or `timeout` passes: TimeoutError). The value, the exception rethrown,
  // or CancelledError.
  template <class Rep = double, class Period = std::ratio<1>>
  decltype(auto) result(
      std::optional<std::chrono::duration<Rep, Period>> timeout = std::nullopt) const {
    wait(timeout);
    return future_.result();
  }
  template <class Rep, class Period>
  decltype(auto) result(std::chrono::duration<Rep, Period> timeout) const {
    return result(std::optional<std::chrono::duration<Rep, Period>>(timeout));
  }
  template <class Rep = double, class Period = std::ratio<1>>
  std::exception_ptr exception(
      std::optional<std::chrono::duration<Rep, Period>> timeout = std::nullopt) const {
    wait(timeout);
    return future_.exception();
  }
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    return exception(std::optional<std::chrono::duration<Rep, Period>>(timeout));
  }

  // Marks this future cancelled and cancels the task inside the runtime. False if done.
  bool cancel() {
    if (!future_.cancel()) return false;
    task_.cancel();
    return true;
  }
  bool done() const noexcept { return future_.done(); }
  bool cancelled() const noexcept { return future_.cancelled(); }
  // fn(future) runs in the thread that completes it (at once if already done).
  template <class F>
  void add_done_callback(F fn) {
    future_.add_done_callback([fn = std::move(fn), task = task_](Future<R>& f) mutable {
      ConcurrentFuture self(task, f);
      fn(self);
    });
  }
  // The task inside the runtime.
  const Task<R>& task() const noexcept { return task_; }

 private:
  template <class Rep, class Period>
  void wait(const std::optional<std::chrono::duration<Rep, Period>>& timeout) const {
    std::int64_t deadline = -1;
    if (timeout) {
      deadline = detail::monotonic_clock_ns() +
                 std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
    }
    if (!detail::wait_until_done(future_.core(), deadline)) throw TimeoutError();
  }

  Task<R> task_;
  Future<R> future_;
};

template <class C>
auto run_coroutine_threadsafe(C&& coroutine_or_callable, Runtime& runtime) {
  auto coroutine = detail::as_coroutine(std::forward<C>(coroutine_or_callable));
  using R = typename decltype(coroutine)::result_type;
  Future<R> future;  // bound to no loop: its callbacks run in the completing thread
  Task<R> task = detail::make_task(runtime.scheduler(), std::move(coroutine), {}, true);
  // Copy the task's outcome into the concurrent future (asyncio's _chain_future).
  task.add_done_callback([future](Task<R>& done) mutable {
    try {
      if (done.cancelled()) {
        future.cancel();
      } else if (auto error = done.exception()) {
        future.set_exception(error);
      } else if constexpr (std::is_void_v<R>) {
        future.set_result();
      } else {
        future.set_result(done.result());
      }
    } catch (const InvalidStateError&) {
      // The caller cancelled the concurrent future first; it keeps that outcome.
    }
  });
  return ConcurrentFuture<R>(std::move(task), std::move(future));
}

}  // namespace weft
