// run_coroutine_threadsafe(coro, runtime): submits a coroutine from any thread (one that is not
// the runtime's) and returns a concurrent.futures-like future to block on.
//
//   auto f = weft::run_coroutine_threadsafe(weft::coro(work), rt);
//   try { f.result(std::chrono::seconds(1)); } catch (const weft::TimeoutError&) { f.cancel(); }
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include "weft/detail/blocking_wait.hpp"
#include "weft/detail/concurrent_core.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/future.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

template <class R>
class ConcurrentFuture;

namespace detail {
// A task submitted from outside with its concurrent future's state in the same block: one
// allocation per submission (with its frame too, for a callable: TaskWithFrame).
template <class Block>
class WithConcurrentFuture final : public Block {
 public:
  using Block::Block;
  ~WithConcurrentFuture() override { concurrent.detach(*this); }
  ConcurrentCore concurrent;
};

template <class R>
struct ConcurrentCallback : ConcurrentCore::CallbackNode {
  virtual void call(ConcurrentFuture<R>& future) = 0;
};
template <class R, class F>
struct ConcurrentCallbackFor final : ConcurrentCallback<R> {
  explicit ConcurrentCallbackFor(F f) : fn(std::move(f)) {}
  void call(ConcurrentFuture<R>& future) override { fn(future); }
  F fn;
};
}  // namespace detail

// concurrent.futures.Future for a task: done when the task is, or at once when cancel() wins.
// A shared handle: copies refer to the same future.
template <class R>
class ConcurrentFuture {
 public:
  // Internal: `state` lives inside `task`'s block.
  ConcurrentFuture(detail::Ref<detail::TypedTask<R>> task, detail::ConcurrentCore* state)
      : task_(std::move(task)), state_(state) {}

  // Blocks until done (or `timeout` passes: TimeoutError). The value (a reference that lives as
  // long as the future), the exception rethrown, or concurrent::CancelledError.
  template <class Rep = double, class Period = std::ratio<1>>
  decltype(auto) result(
      std::optional<std::chrono::duration<Rep, Period>> timeout = std::nullopt) const {
    wait(timeout);
    throw_if_cancelled();
    return task().result();
  }
  template <class Rep, class Period>
  decltype(auto) result(std::chrono::duration<Rep, Period> timeout) const {
    return result(std::optional<std::chrono::duration<Rep, Period>>(timeout));
  }
  template <class Rep = double, class Period = std::ratio<1>>
  std::exception_ptr exception(
      std::optional<std::chrono::duration<Rep, Period>> timeout = std::nullopt) const {
    wait(timeout);
    throw_if_cancelled();
    return task().exception();
  }
  template <class Rep, class Period>
  std::exception_ptr exception(std::chrono::duration<Rep, Period> timeout) const {
    return exception(std::optional<std::chrono::duration<Rep, Period>>(timeout));
  }

  // Marks this future cancelled (threads blocked on it wake with concurrent::CancelledError),
  // cancels the task inside the runtime, then runs the done callbacks here. False if already done.
  bool cancel() {
    if (!state_->mark_cancelled()) return false;
    task_->cancel("");
    run_callbacks(*this);
    return true;
  }
  bool done() const noexcept { return state_->done(); }
  bool cancelled() const noexcept {
    return state_->cancelled_here() || (state_->done() && task_->cancelled());
  }
  // fn(future) runs once done: in the thread that cancels it, on the runtime when the task ends,
  // or at once, here, if already done.
  template <class F>
  void add_done_callback(F fn) {
    auto node = std::make_unique<detail::ConcurrentCallbackFor<R, F>>(std::move(fn));
    bool hook_task = false;
    if (!state_->add_callback_if_pending(node.get(), hook_task)) {
      call_guarded(*node, *this);
      return;
    }
    node.release();  // kept by the state
    if (hook_task) {
      // The task's done callbacks run on the runtime after it ended (asyncio's chain does the
      // same); the state is done by then (the task told it first, as its waiter).
      task().add_done_callback([self = *this](Task<R>&) { run_callbacks(self); });
    }
  }
  // The task inside the runtime.
  Task<R> task() const noexcept { return Task<R>(task_); }

 private:
  template <class Rep, class Period>
  void wait(const std::optional<std::chrono::duration<Rep, Period>>& timeout) const {
    std::int64_t deadline = -1;  // none
    if (timeout) {
      deadline = detail::deadline_after(detail::monotonic_now_ns(),
                                        detail::duration_to_ns(*timeout, "result()"));
      if (deadline == detail::kNeverNs) deadline = -1;
    }
    if (!state_->wait(deadline)) throw TimeoutError();
  }
  // concurrent.futures.CancelledError, which carries no message, whoever cancelled.
  void throw_if_cancelled() const {
    if (cancelled()) throw concurrent::CancelledError();
  }

  static void run_callbacks(ConcurrentFuture self) {
    for (auto* node = self.state_->take_callbacks(); node;) {
      std::unique_ptr<detail::ConcurrentCore::CallbackNode> owned(node);
      node = node->next;
      call_guarded(static_cast<detail::ConcurrentCallback<R>&>(*owned), self);
    }
  }
  // concurrent.futures logs what a callback raises ("exception calling callback for ...") and
  // runs the next one; nothing reaches the thread that completed or cancelled the future.
  static void call_guarded(detail::ConcurrentCallback<R>& callback, ConcurrentFuture& self) {
    try {
      callback.call(self);
    } catch (...) {
      detail::report_concurrent_callback_exception(*self.task_, std::current_exception());
    }
  }

  detail::Ref<detail::TypedTask<R>> task_;
  detail::ConcurrentCore* state_;  // inside task_'s block
};

// `where`: the task's creation site in debug mode (see create_task).
template <class C>
auto run_coroutine_threadsafe(C&& coroutine_or_callable, Runtime& runtime,
                              SourceLocation where = SourceLocation::current()) {
  auto block = detail::new_task_block<detail::WithConcurrentFuture>(
      runtime.scheduler(), std::forward<C>(coroutine_or_callable), {}, nullptr, where);
  detail::ConcurrentCore* state = &block->concurrent;
  Task task = detail::start_task(runtime.scheduler(), std::move(block), true, false, std::nullopt);
  state->attach(task.core());
  using R = typename decltype(task)::result_type;
  return ConcurrentFuture<R>(task.state(), state);
}

// wrap_future(f): asyncio.wrap_future -- a ConcurrentFuture (work submitted to a runtime, maybe
// another one) as a Future of the running runtime, to await like any other. Cancelling either
// side cancels the other (asyncio's _chain_future); a value is copied across. A Future passes
// through as it is. RuntimeError outside a runtime.
//
//   auto f = weft::run_coroutine_threadsafe(weft::coro(work), other_runtime);
//   int v = weft::await(weft::wrap_future(f));   // inside a task of this runtime
template <class R>
Future<R> wrap_future(Future<R> future) {
  return future;
}
template <class R>
Future<R> wrap_future(ConcurrentFuture<R> source) {
  static_assert(std::is_void_v<R> || std::is_copy_constructible_v<R>,
                "wrap_future copies the value across: R must be copyable");
  detail::running_scheduler("wrap_future");  // asyncio: no current event loop
  Future<R> destination;                     // bound to the running runtime
  destination.add_done_callback([source](Future<R>& self) mutable {
    if (self.cancelled()) source.cancel();
  });
  // The copy is scheduled on the destination's runtime (asyncio's call_soon_threadsafe), never
  // done inline: a source done already, or done on another runtime, reaches the destination a
  // step later, so a cancel() of the destination in between still wins.
  std::shared_ptr<detail::CallbackScheduler> loop = detail::thread_callback_scheduler();
  source.add_done_callback([destination, loop](ConcurrentFuture<R>& done) mutable {
    std::function<void()> copy = [destination, done]() mutable {
      try {
        if (destination.done()) return;  // cancelled meanwhile: it keeps that outcome
        if (done.cancelled()) {
          destination.cancel();
        } else if (auto error = done.exception()) {
          destination.set_exception(error);
        } else if constexpr (std::is_void_v<R>) {
          destination.set_result();
        } else {
          destination.set_result(done.result());
        }
      } catch (const InvalidStateError&) {
        // Cancelled on another thread between the check and the set.
      }
    };
    if (!loop || !loop->call_soon(copy)) copy();  // that runtime is closing: complete it here
  });
  return destination;
}

}  // namespace weft
