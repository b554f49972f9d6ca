// Lock, after asyncio's: `locked_` plus a FIFO of waiter futures. release() does not hand the
// lock over; it clears `locked_` and wakes the first waiter, which takes the lock when it runs.
// Newcomers cannot barge in meanwhile: the fast path needs every waiter to be cancelled.
// A woken waiter that is cancelled before it runs finds the lock free and wakes the next one,
// so a wake-up is never lost.
#include "weft/lock.hpp"

#include "sync_format.hpp"
#include "weft/errors.hpp"

namespace weft {

bool Lock::free_for_newcomer_locked() const {
  if (locked_) return false;
  for (const detail::SyncWaiter* w = waiters_.front(); w; w = w->next) {
    if (!w->cancelled()) return false;  // someone queued first (perhaps already woken)
  }
  return true;
}

bool Lock::acquire() {
  std::unique_lock lock(mutex_);
  if (free_for_newcomer_locked()) {
    locked_ = true;
    return true;
  }
  detail::wait_in_line(waiters_, lock, [this](detail::SyncWaiter&) {
    // If we were woken first, the lock is free and the wake-up is ours to pass on; if not,
    // waking the first waiter is harmless (it is done already or will be).
    if (!locked_) wake_up_first_locked();
  });
  locked_ = true;
  return true;
}

bool Lock::try_lock() {
  std::lock_guard lock(mutex_);
  if (!free_for_newcomer_locked()) return false;
  locked_ = true;
  return true;
}

void Lock::release() {
  std::lock_guard lock(mutex_);
  if (!locked_) throw RuntimeError("Lock is not acquired.");
  locked_ = false;
  wake_up_first_locked();
}

void Lock::wake_up_first_locked() {
  // Only the first: if it is done already (woken, or cancelled), that waiter will take the lock
  // or, failing that, call this again when it resumes. Under the mutex: see sync_waiters.hpp.
  if (detail::SyncWaiter* first = waiters_.front()) detail::try_wake(*first);
}

bool Lock::locked() const {
  std::lock_guard lock(mutex_);
  return locked_;
}

std::string Lock::repr() const {
  std::lock_guard lock(mutex_);
  return detail::format_repr("Lock", this, locked_ ? "locked" : "unlocked", waiters_.size());
}

}  // namespace weft
