// The queues, after asyncio's: a store of items, a FIFO of getter futures and one of putter
// futures. Whoever makes room or adds an item pops the first waiter of the other kind that is
// not done and wakes it; the woken task re-checks (a newcomer may have taken the slot or the
// item first, as in asyncio) and waits again at the back if it must. A waiter that fails --
// cancelled, perhaps after it was woken -- wakes the next one of its kind if the condition it
// was woken for still holds, so a wake-up is never lost.
// shutdown() (asyncio 3.13) sets a flag every put and get checks -- puts refuse at once, gets
// once the store is empty -- and wakes every getter and putter so each re-checks and raises
// QueueShutDown; immediate=true also drops the items and counts them done for join().
#include <algorithm>
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

void QueueCore::wakeup_all_locked(WaiterFifo& waiters) {
  // Under the mutex: see sync_waiters.hpp.
  while (SyncWaiter* w = waiters.pop_front()) try_wake(*w);
}

void QueueCore::wake_joiners_locked() {
  // asyncio's `_finished.set()`: every task in join() returns, even if more is put before it
  // runs. Each joiner unlinks itself.
  for (SyncWaiter* w = joiners_.front(); w; w = w->next) try_wake(*w);
}

void QueueCore::put_locked(ItemOp& push) {
  if (is_shutdown_) throw QueueShutDown();  // put() that found room, or was woken by shutdown
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
    if (is_shutdown_) throw QueueShutDown();
    wait_in_line(putters_, lock, [this](SyncWaiter& putter) {
      const bool woken = putter.give_up();  // it cannot be woken any more, if it was not yet
      if (!full_locked() && woken) wakeup_next_locked(putters_);
    });
  }
  put_locked(push);
}

void QueueCore::put_nowait(ItemOp push) {
  std::lock_guard lock(mutex_);
  if (is_shutdown_) throw QueueShutDown();
  if (full_locked()) throw QueueFull();
  put_locked(push);
}

void QueueCore::get(ItemOp pop) {
  std::unique_lock lock(mutex_);
  while (size_locked() == 0) {
    if (is_shutdown_) throw QueueShutDown();  // the items left before the shutdown are got
    wait_in_line(getters_, lock, [this](SyncWaiter& getter) {
      const bool woken = getter.give_up();  // it cannot be woken any more, if it was not yet
      if (size_locked() != 0 && woken) wakeup_next_locked(getters_);
    });
  }
  get_locked(pop);
}

void QueueCore::get_nowait(ItemOp pop) {
  std::lock_guard lock(mutex_);
  if (size_locked() == 0) {
    if (is_shutdown_) throw QueueShutDown();
    throw QueueEmpty();
  }
  get_locked(pop);
}

void QueueCore::task_done() {
  std::lock_guard lock(mutex_);
  if (unfinished_tasks_ == 0) throw ValueError("task_done() called too many times");
  if (--unfinished_tasks_ == 0) wake_joiners_locked();
}

void QueueCore::join() {
  std::unique_lock lock(mutex_);
  if (unfinished_tasks_ == 0) return;
  wait_in_line(joiners_, lock, [](SyncWaiter&) {});
}

void QueueCore::shutdown(bool immediate, ItemOp take_all) {
  std::lock_guard lock(mutex_);
  is_shutdown_ = true;
  if (immediate) {
    // Each dropped item counts as one task_done(), but never below zero, as in asyncio:
    // task_done() may have been called ahead for items still queued.
    std::size_t dropped = size_locked();
    take_all();
    unfinished_tasks_ -= std::min(dropped, unfinished_tasks_);
    if (unfinished_tasks_ == 0) wake_joiners_locked();
  }
  // Each woken getter and putter re-checks: a getter takes an item that is left, or raises
  // once there is none; a putter raises.
  wakeup_all_locked(getters_);
  wakeup_all_locked(putters_);
}

std::string QueueCore::repr(const char* kind) const {
  std::lock_guard lock(mutex_);
  std::string text = std::string("<") + kind + " maxsize=" + std::to_string(maxsize_);
  if (std::size_t n = size_locked()) text += " qsize=" + std::to_string(n);
  if (!getters_.empty()) text += " _getters[" + std::to_string(getters_.size()) + "]";
  if (!putters_.empty()) text += " _putters[" + std::to_string(putters_.size()) + "]";
  if (unfinished_tasks_) text += " tasks=" + std::to_string(unfinished_tasks_);
  if (is_shutdown_) text += " shutdown";
  return text + ">";
}

}  // namespace weft::detail
