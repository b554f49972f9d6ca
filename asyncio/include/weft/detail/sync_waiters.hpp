// Internal: the waiter FIFO behind Event, Lock, Semaphore, Condition and the queues -- asyncio's
// `collections.deque` of futures, one future per waiting task.
//
// A SyncWaiter lives on the waiting task's stack (its fiber keeps it alive while it waits) and
// is linked into its primitive's WaiterFifo, under the primitive's std::mutex, for as long as
// it waits. Every link, unlink and wake-up happens under that mutex, and a waiter always takes
// the mutex to unlink itself (or to see that a waker unlinked it) before its frame is left, so
// a waker never touches a dead node.
//
// Completing a waiter's future under the primitive's mutex is safe: the future was made by a
// task inside a runtime, so it is bound to that runtime's scheduler and its completion runs no
// user code inline -- it wakes the registered waiters (TaskCore::fire: a CAS and a push onto a
// run queue, perhaps a futex wake) and would hand done callbacks to call_soon; nobody but the
// primitive ever sees these futures, so there are none. Nothing reached from there calls back
// into a primitive, so the lock order is always primitive mutex -> future spinlock -> scheduler.
#pragma once

#include <cstddef>
#include <mutex>

#include "weft/future.hpp"

namespace weft::detail {

struct SyncWaiter {
  Future<void> future;
  SyncWaiter* prev = nullptr;
  SyncWaiter* next = nullptr;
  bool linked = false;
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
void wait_in_line(WaiterFifo& fifo, std::unique_lock<std::mutex>& lock, OnAbort on_abort) {
  SyncWaiter waiter;
  fifo.push_back(waiter);
  lock.unlock();
  try {
    waiter.future.await();
  } catch (...) {
    lock.lock();
    fifo.remove(waiter);
    on_abort(waiter);
    throw;
  }
  lock.lock();
  fifo.remove(waiter);
}

// Completes the waiter's future unless it is done already; true if this call completed it.
// Unlike asyncio, `if not fut.done(): fut.set_result()` is not atomic here: a Task.cancel() on
// another thread may cancel the future in between. Losing that race counts as "it was done".
bool try_wake(SyncWaiter& waiter);

}  // namespace weft::detail
