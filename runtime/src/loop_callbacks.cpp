// asyncio's loop.call_soon / call_later / call_at and their TimerHandle.
#include "scheduler.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"

namespace weft {

void Runtime::call_soon(std::function<void()> callback) {
  if (!scheduler_->call_soon_threadsafe(callback)) {
    throw RuntimeError(
        "Event loop is closed: the runtime is shutting down and refuses call_soon from outside; "
        "call it before shutdown(), or from inside the runtime");
  }
}

TimerHandle Runtime::call_at(double when, std::function<void()> callback) {
  auto timer = std::make_shared<detail::TimerCallback>();
  timer->callback = std::move(callback);
  timer->when_ns = static_cast<std::int64_t>(when * 1e9);
  scheduler_->call_at(timer);
  return TimerHandle(std::move(timer));
}

TimerHandle Runtime::call_later(double delay, std::function<void()> callback) {
  return call_at(time() + delay, std::move(callback));
}

// Relaxed: the flag is only read by the timer's own worker when the timer comes due; callers
// that need the callback excluded after cancel() (timeout scopes) hold their own lock.
void TimerHandle::cancel() noexcept {
  if (timer_) timer_->cancelled.store(true, std::memory_order_relaxed);
}
bool TimerHandle::cancelled() const noexcept {
  return timer_ && timer_->cancelled.load(std::memory_order_relaxed);
}
double TimerHandle::when() const noexcept {
  return timer_ ? static_cast<double>(timer_->when_ns) * 1e-9 : 0.0;
}

}  // namespace weft
