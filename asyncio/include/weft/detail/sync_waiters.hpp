// Internal: the waiter FIFO behind Event, Lock, Semaphore, Condition and the queues -- asyncio's
// `collections.deque` of futures, one future per waiting task.
//
// A SyncWaiter lives on the waiting task's stack (its fiber keeps it alive while it waits) and
// is linked into its primitive's WaiterFifo, under the primitive's FutexLock, for as long as
// it waits. Every link, unlink and wake-up happens under that mutex, and a waiter always takes
// the mutex to unlink itself (or to see that a waker unlinked it) before its frame is left, so
// a waker never touches a dead node.
//
// asyncio makes one future per wait; a task waiting in its own body here makes none: it arms a
// wake-up token before it links itself (TaskCore::arm_direct_wait) and suspends with
// AwaitWakeUp, and the waker claims that token -- racing cancel(), which claims it to resume the
// task with CancelledError, as it does a sleep. Outcomes are asyncio's: `woken` is "the future
// got its result", a token claimed by cancel() is "the future was cancelled". Elsewhere (a
// coroutine driven by hand, an async generator's body) the waiter falls back to a Future.
//
// Waking under the primitive's mutex is safe: it runs no user code inline -- a token's claim,
// or the completion of a future nobody else sees (TaskCore::fire: a CAS and a push onto a run
// queue, perhaps a futex wake). Nothing reached from there calls back into a primitive, so the
// lock order is always primitive mutex -> future or task spinlock -> scheduler.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>

#include "weft/detail/futex_lock.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/future.hpp"

namespace weft::detail {

class SyncWaiter {
 public:
  // Arms the running task's wake-up (or makes the fallback future): under the primitive's mutex,
  // before the waiter is linked.
  SyncWaiter();
  // Takes back a token no wait followed.
  ~SyncWaiter();
  SyncWaiter(const SyncWaiter&) = delete;
  SyncWaiter& operator=(const SyncWaiter&) = delete;

  // Once linked and the primitive's mutex released: returns when woken; CancelledError (or what
  // else the task gets thrown in) otherwise.
  void wait();
  // The waker, under the mutex: wakes it unless it was woken or cancelled already; true if this
  // call woke it.
  bool wake();
  // Under the mutex: cancelled, so it will never be woken (asyncio's `fut.cancelled()`).
  bool cancelled() const noexcept;
  // Under the mutex, on the way out of a wait that raised: it cannot be woken any more; true if
  // it had been (asyncio's `fut.cancel(); ... not fut.cancelled()`).
  bool give_up() noexcept;

  SyncWaiter* prev = nullptr;
  SyncWaiter* next = nullptr;
  bool linked = false;

 private:
  TaskCore* task_;                      // null: waits on future_
  std::uint64_t token_ = 0;             // the task's armed wake-up
  bool woken_ = false;                  // guarded by the primitive's mutex
  std::optional<Future<void>> future_;  // the fallback
};

// An intrusive FIFO of waiters; no allocation. Not thread-safe: its owner's mutex guards it.
class WaiterFifo {
 public:
  void push_back(SyncWaiter& waiter) noexcept {
    waiter.prev = tail_;
    waiter.next = nullptr;
    (tail_ ? tail_->next : head_) = &waiter;
    tail_ = &waiter;
    waiter.linked = true;
    ++size_;
  }
  // Unlinks `waiter` if it is still linked (a waker may have popped it already).
  void remove(SyncWaiter& waiter) noexcept {
    if (!waiter.linked) return;
    (waiter.prev ? waiter.prev->next : head_) = waiter.next;
    (waiter.next ? waiter.next->prev : tail_) = waiter.prev;
    waiter.prev = waiter.next = nullptr;
    waiter.linked = false;
    --size_;
  }
  SyncWaiter* pop_front() noexcept {
    SyncWaiter* first = head_;
    if (first) remove(*first);
    return first;
  }
  SyncWaiter* front() const noexcept { return head_; }
  bool empty() const noexcept { return head_ == nullptr; }
  std::size_t size() const noexcept { return size_; }

 private:
  SyncWaiter* head_ = nullptr;
  SyncWaiter* tail_ = nullptr;
  std::size_t size_ = 0;
};

// The wait every primitive makes, asyncio's `fut = create_future(); append; await fut; remove`:
// links a fresh waiter into `fifo`, lets go of the primitive's mutex while it awaits, and takes
// it back to unlink. `lock` is held on entry and on every exit. If the await throws (the task
// was cancelled, or its coroutine is closing), `on_abort(waiter)` runs with the mutex held and
// the waiter unlinked -- where a primitive passes on a wake-up it had already been given -- and
// the exception goes on.
template <class OnAbort>
void wait_in_line(WaiterFifo& fifo, std::unique_lock<FutexLock>& lock, OnAbort on_abort) {
  SyncWaiter waiter;
  fifo.push_back(waiter);
  lock.unlock();
  try {
    waiter.wait();
  } catch (...) {
    lock.lock();
    fifo.remove(waiter);
    on_abort(waiter);
    throw;
  }
  lock.lock();
  fifo.remove(waiter);
}

// Wakes the waiter unless it is done already; true if this call woke it. Unlike asyncio,
// `if not fut.done(): fut.set_result()` is not atomic here: a Task.cancel() on another thread may
// cancel the wait in between. Losing that race counts as "it was done".
inline bool try_wake(SyncWaiter& waiter) {
  return waiter.wake();
}

}  // namespace weft::detail
