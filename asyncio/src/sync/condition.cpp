// Condition, after asyncio's, with one change from 3.11 taken from CPython 3.13 (gh-112202): a
// task that leaves wait() with an exception -- cancelled, perhaps right after it was notified --
// notifies one other waiter in its place, so a notification is never swallowed. (A spurious
// wake-up may result, which condition variables allow; wait_for() re-checks its predicate.)
#include "weft/condition.hpp"

#include <exception>

#include "sync_format.hpp"
#include "weft/errors.hpp"

namespace weft {

Condition::Condition() : own_lock_(std::in_place), lock_(*own_lock_) {}
Condition::Condition(Lock& lock) : lock_(lock) {}

bool Condition::wait() {
  if (!lock_.locked()) throw RuntimeError("cannot wait on un-acquired lock");
  detail::SyncWaiter waiter;
  {
    // Queued before the lock is released: a task that takes the lock and notifies right after
    // must find us. (asyncio releases first, but no other task runs in between there.)
    std::lock_guard guard(mutex_);
    waiters_.push_back(waiter);
  }
  try {
    lock_.release();
  } catch (...) {
    // Released by someone else since the check: leave no node of this frame behind.
    std::lock_guard guard(mutex_);
    waiters_.remove(waiter);
    throw;
  }
  std::exception_ptr error;
  try {
    waiter.wait();
  } catch (...) {
    error = std::current_exception();
  }
  {
    std::lock_guard guard(mutex_);
    waiters_.remove(waiter);
  }
  // The lock must be held again on the way out, even when cancelled: keep trying, and raise the
  // last CancelledError once we have it.
  std::exception_ptr cancelled;
  for (;;) {
    try {
      lock_.acquire();
      break;
    } catch (const CancelledError&) {
      cancelled = std::current_exception();
    }
  }
  if (cancelled) error = cancelled;
  if (error) {
    std::lock_guard guard(mutex_);
    notify_locked(1);  // perhaps we had been notified: pass it on
    std::rethrow_exception(error);
  }
  return true;
}

void Condition::notify(std::size_t n) {
  if (!lock_.locked()) throw RuntimeError("cannot notify on un-acquired lock");
  std::lock_guard guard(mutex_);
  notify_locked(n);
}

void Condition::notify_all() {
  if (!lock_.locked()) throw RuntimeError("cannot notify on un-acquired lock");
  std::lock_guard guard(mutex_);
  notify_locked(waiters_.size());
}

void Condition::notify_locked(std::size_t n) {
  // The first n waiters not done yet. Under the mutex: see sync_waiters.hpp.
  std::size_t woken = 0;
  for (detail::SyncWaiter* w = waiters_.front(); w && woken < n; w = w->next) {
    if (detail::try_wake(*w)) ++woken;
  }
}

std::string Condition::repr() const {
  bool held = lock_.locked();
  std::lock_guard guard(mutex_);
  return detail::format_repr("Condition", this, held ? "locked" : "unlocked", waiters_.size());
}

}  // namespace weft
