// Internal: the common ground of the composition tools (gather, shield, wait, as_completed):
// turning an awaitable into something with a future core, and awaiting a bare core.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "weft/coroutine.hpp"
#include "weft/future.hpp"
#include "weft/task.hpp"

namespace weft::detail {

template <class T>
struct is_task : std::false_type {};
template <class R>
struct is_task<Task<R>> : std::true_type {};
template <class T>
struct is_future : std::false_type {};
template <class R>
struct is_future<Future<R>> : std::true_type {};
template <class T>
concept CoroutineObject = requires(T& c) {
  typename std::decay_t<T>::result_type;
  c.frame();
  c.send();
};

// asyncio.ensure_future: a Task or Future as is; a coroutine wrapped in a new task.
template <class A>
auto ensure_future(A&& awaitable) {
  using D = std::decay_t<A>;
  if constexpr (is_task<D>::value || is_future<D>::value) {
    return D(awaitable);
  } else {
    static_assert(CoroutineObject<D>, "expected a Task, a Future or a Coroutine");
    return create_task(Coroutine<typename D::result_type>(std::forward<A>(awaitable)));
  }
}

// ensure_future, then Future.cancel() (wait_for with a timeout <= 0): a coroutine's new task is
// cancelled before any worker can start it, so its body never runs, as on asyncio's one thread
// -- unless the task factory is eager: then, as in asyncio, its first step runs inside
// ensure_future and it is cancelled only if that step did not finish it.
template <class A>
auto ensure_future_cancelled(A&& awaitable) {
  using D = std::decay_t<A>;
  if constexpr (is_task<D>::value || is_future<D>::value) {
    D future(awaitable);
    future.cancel();  // false, and nothing else, if it is done
    return future;
  } else {
    static_assert(CoroutineObject<D>, "expected a Task, a Future or a Coroutine");
    Scheduler& scheduler = running_scheduler("create_task");
    const bool eager = eager_tasks_by_default(scheduler);
    auto task = make_task(scheduler, Coroutine<typename D::result_type>(std::forward<A>(awaitable)),
                          {}, false, !eager, eager);
    if (eager) task.cancel();  // false, and nothing else, if the eager step finished it
    return task;
  }
}

// The result type R of a Task<R> / Future<R>.
template <class F>
struct result_of;
template <class R>
struct result_of<Task<R>> {
  using type = R;
};
template <class R>
struct result_of<Future<R>> {
  using type = R;
};

template <class F>
Ref<FutureCore> core_ptr(const F& f) {
  return Ref<FutureCore>(&f.core());
}

// Awaits a future core from inside a task; throws what its result() would.
inline void await_core(FutureCore& future) {
  if (!future.done()) {
    suspend(AwaitFuture{&future});
    if (!future.done()) throw RuntimeError("await wasn't used with future");
  }
  future.check_result();
}

// The result of a done Task/Future as awaiting it would give it (Value<R>; rethrows).
template <class F>
auto take_awaited(const F& f) {
  using R = typename result_of<F>::type;
  if constexpr (std::is_void_v<R>) {
    f.result();
    return Value<R>{};
  } else {
    return Value<R>(f.result());
  }
}

// Waits until `future` is done, through a separate waiter so that a cancellation of the waiting
// task itself raises CancelledError here and leaves `future` alone (the await of asyncio's
// _cancel_and_wait).
inline void wait_until_done(FutureCore& future) {
  if (future.done()) return;
  Future<void> waiter;
  auto id = future.add_done_callback([waiter](FutureCore&) mutable {
    try {
      waiter.set_result();
    } catch (const InvalidStateError&) {
      // Already released (the waiting task was cancelled).
    }
  });
  try {
    waiter.await();
  } catch (...) {
    future.remove_done_callback(id);
    throw;
  }
}

// The outcome of a finished child, as gather(return_exceptions=True) reports it.
inline std::exception_ptr outcome_error(FutureCore& child) {
  if (child.cancelled()) return std::make_exception_ptr(CancelledError(child.cancel_message()));
  return child.exception();
}

}  // namespace weft::detail
