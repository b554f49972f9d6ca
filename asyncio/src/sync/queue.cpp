// The queues, after asyncio's: a store of items, a FIFO of getter futures and one of putter
// futures. Whoever makes room or adds an item pops the first waiter of the other kind that is
// not done and wakes it; the woken task re-checks (a newcomer may have taken the slot or the
// item first, as in asyncio) and waits again at the back if it must. A waiter that fails --
// cancelled, perhaps after it was woken -- wakes the next one of its kind if the condition it
// was woken for still holds, so a wake-up is never lost.
#include <exception>

#include "weft/errors.hpp"
#include "weft/queue.hpp"

namespace weft::detail {

std::size_t QueueCore::qsize() const {
  std::lock_guard lock(mutex_);
  return size_locked();
}

bool QueueCore::empty() const {
  std::lock_guard lock(mutex_);
  return size_locked() == 0;
}

bool QueueCore::full() const {
  std::lock_guard lock(mutex_);
  return full_locked();
}

void QueueCore::wakeup_next_locked(WaiterFifo& waiters) {
  // Under the mutex: see sync_waiters.hpp.
  while (SyncWaiter* w = waiters.pop_front()) {
    if (try_wake(*w)) return;
  }
}

void QueueCore::put_locked(ItemOp& push) {
  push();
  ++unfinished_tasks_;
  wakeup_next_locked(getters_);
}

void QueueCore::get_locked(ItemOp& pop) {
  pop();
  wakeup_next_locked(putters_);
}

void QueueCore::put(ItemOp push) {
  std::unique_lock lock(mutex_);
  while (full_locked()) {
    wait_in_line(putters_, lock, [this](SyncWaiter& putter) {
      putter.future.cancel();  // cannot be woken any more, if it was not yet
      if (!full_locked() && !putter.future.cancelled()) wakeup_next_locked(putters_);
    });
  }
  put_locked(push);
}

void QueueCore::put_nowait(ItemOp push) {
  std::lock_guard lock(mutex_);
  if (full_locked()) throw QueueFull();
  put_locked(push);
}

void QueueCore::get(ItemOp pop) {
  std::unique_lock lock(mutex_);
  while (size_locked() == 0) {
    wait_in_line(getters_, lock, [this](SyncWaiter& getter) {
      getter.future.cancel();  // cannot be woken any more, if it was not yet
      if (size_locked() != 0 && !getter.future.cancelled()) wakeup_next_locked(getters_);
    });
  }
  get_locked(pop);
}

void QueueCore::get_nowait(ItemOp pop) {
  std::lock_guard lock(mutex_);
  if (size_locked() == 0) throw QueueEmpty();
  get_locked(pop);
}

void QueueCore::task_done() {
  std::lock_guard lock(mutex_);
  if (unfinished_tasks_ == 0) throw ValueError("task_done() called too many times");
  if (--unfinished_tasks_ == 0) {
    for (SyncWaiter* w = joiners_.front(); w; w = w->next) try_wake(*w);
  }
}

void QueueCore::join() {
  std::unique_lock lock(mutex_);
  if (unfinished_tasks_ == 0) return;
  wait_in_line(joiners_, lock, [](SyncWaiter&) {});
}

std::string QueueCore::repr(const char* kind) const {
  std::lock_guard lock(mutex_);
  std::string text = std::string("<") + kind + " maxsize=" + std::to_string(maxsize_);
  if (std::size_t n = size_locked()) text += " qsize=" + std::to_string(n);
  if (!getters_.empty()) text += " _getters[" + std::to_string(getters_.size()) + "]";
  if (!putters_.empty()) text += " _putters[" + std::to_string(putters_.size()) + "]";
  if (unfinished_tasks_) text += " tasks=" + std::to_string(unfinished_tasks_);
  return text + ">";
}

}  // namespace weft::detail
