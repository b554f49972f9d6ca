// Semaphore, after asyncio's (3.11): `value_` counts free permits, and a FIFO of waiter futures.
// Waking a waiter takes its permit on its behalf (value_ - 1) so nobody can snatch it before the
// waiter runs; a woken waiter that then finds permits left wakes the next one. A waiter that is
// cancelled after it was woken gives its permit back and wakes the next, so none is lost.
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
    if (!w->future.cancelled()) return true;  // FIFO: queue behind it
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
    // A pending future cannot be woken any more once cancelled; a woken one keeps its result,
    // and then the permit taken for us goes back.
    waiter.future.cancel();
    if (!waiter.future.cancelled()) {
      ++value_;
      wake_up_next_locked();
    }
  });
  if (value_ > 0) wake_up_next_locked();
  return true;
}

void Semaphore::release() {
  std::lock_guard lock(mutex_);
  if (bound_ >= 0 && value_ >= bound_) {
    throw ValueError("BoundedSemaphore released too many times");
  }
  ++value_;
  wake_up_next_locked();
}

void Semaphore::wake_up_next_locked() {
  // The first waiter not done yet gets the permit. Under the mutex: see sync_waiters.hpp.
  for (detail::SyncWaiter* w = waiters_.front(); w; w = w->next) {
    if (detail::try_wake(*w)) {
      --value_;
      return;
    }
  }
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
