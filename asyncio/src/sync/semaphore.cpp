// Semaphore, after asyncio's (3.13): `value_` counts free permits, and a FIFO of waiter futures.
// Waking a waiter takes its permit on its behalf (value_ - 1) so nobody can snatch it before the
// waiter runs. A waiter leaving acquire() -- with its permit, or cancelled -- then wakes as many
// further waiters as there are permits left: permits released while it was queued ahead of them
// (newcomers queue behind a woken waiter, FIFO) all go out at once, in order, instead of one per
// wake-up as in 3.12. A waiter cancelled after it was woken gives its permit back first, so none
// is lost.
#include "weft/semaphore.hpp"

#include "sync_format.hpp"
#include "weft/errors.hpp"

namespace weft {

Semaphore::Semaphore(std::ptrdiff_t value) : Semaphore(value, -1, "Semaphore") {}

Semaphore::Semaphore(std::ptrdiff_t value, std::ptrdiff_t bound, const char* kind)
    : value_(value), bound_(bound), kind_(kind) {
  if (value < 0) throw ValueError("Semaphore initial value must be >= 0");
}

BoundedSemaphore::BoundedSemaphore(std::ptrdiff_t value)
    : Semaphore(value, value, "BoundedSemaphore") {}

bool Semaphore::locked_locked() const {
  if (value_ == 0) return true;
  for (const detail::SyncWaiter* w = waiters_.front(); w; w = w->next) {
    if (!w->cancelled()) return true;  // FIFO: queue behind it
  }
  return false;
}

bool Semaphore::acquire() {
  std::unique_lock lock(mutex_);
  if (!locked_locked()) {
    --value_;
    return true;
  }
  detail::wait_in_line(waiters_, lock, [this](detail::SyncWaiter& waiter) {
    // A waiter that gives up cannot be woken any more; if it had been woken, the permit taken
    // for it goes back.
    if (waiter.give_up()) ++value_;
    wake_up_spare_locked();
  });
  wake_up_spare_locked();
  return true;
}

void Semaphore::wake_up_spare_locked() {
  // As asyncio's acquire() ends (3.13): one wake-up per permit left, while anyone waits.
  while (value_ > 0 && wake_up_next_locked()) {
  }
}

void Semaphore::release() {
  std::lock_guard lock(mutex_);
  if (bound_ >= 0 && value_ >= bound_) {
    throw ValueError("BoundedSemaphore released too many times");
  }
  ++value_;
  wake_up_next_locked();
}

bool Semaphore::wake_up_next_locked() {
  // The first waiter not done yet gets the permit. Under the mutex: see sync_waiters.hpp.
  for (detail::SyncWaiter* w = waiters_.front(); w; w = w->next) {
    if (detail::try_wake(*w)) {
      --value_;
      return true;
    }
  }
  return false;  // nobody left to wake
}

bool Semaphore::locked() const {
  std::lock_guard lock(mutex_);
  return locked_locked();
}

std::ptrdiff_t Semaphore::value() const {
  std::lock_guard lock(mutex_);
  return value_;
}

std::string Semaphore::repr() const {
  std::lock_guard lock(mutex_);
  std::string extra =
      locked_locked() ? std::string("locked") : "unlocked, value:" + std::to_string(value_);
  return detail::format_repr(kind_, this, std::move(extra), waiters_.size());
}

}  // namespace weft
