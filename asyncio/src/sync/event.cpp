// Event, after asyncio's: a flag plus a FIFO of waiter futures. set() completes every waiter's
// future; each waiter unlinks itself when it resumes (or when its await raises).
#include "weft/event.hpp"

#include "sync_format.hpp"

namespace weft {

bool Event::is_set() const {
  std::lock_guard lock(mutex_);
  return value_;
}

void Event::set() {
  std::lock_guard lock(mutex_);
  if (value_) return;
  value_ = true;
  // Waking under the mutex: see detail/sync_waiters.hpp for why that is safe.
  for (detail::SyncWaiter* w = waiters_.front(); w; w = w->next) detail::try_wake(*w);
}

void Event::clear() {
  std::lock_guard lock(mutex_);
  value_ = false;
}

bool Event::wait() {
  std::unique_lock lock(mutex_);
  if (value_) return true;
  detail::wait_in_line(waiters_, lock, [](detail::SyncWaiter&) {});
  return true;
}

std::string Event::repr() const {
  std::lock_guard lock(mutex_);
  return detail::format_repr("Event", this, value_ ? "set" : "unset", waiters_.size());
}

}  // namespace weft
