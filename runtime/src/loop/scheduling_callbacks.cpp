// asyncio's "Scheduling callbacks": loop.call_soon, call_later and call_at, and their TimerHandle.
#include <limits>

#include "sched/scheduler.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"

namespace weft {

namespace {
// asyncio's Handle runs its callback in its Context. Not marked entered (as Context::run would):
// on several workers two callbacks of one Context may run at once, which one thread never sees.
std::function<void()> in_context(std::function<void()> callback, detail::ContextStatePtr context) {
  return [callback = std::move(callback), context = std::move(context)] {
    detail::ContextScope scope(context, false);
    callback();
  };
}
}  // namespace

void Runtime::call_soon(std::function<void()> callback) {
  call_soon(std::move(callback), copy_context());
}

void Runtime::call_soon(std::function<void()> callback, Context context) {
  callback = in_context(std::move(callback), context.state());
  if (!scheduler_->call_soon_threadsafe(callback)) {
    throw RuntimeError(
        "Event loop is closed: the runtime is shutting down and refuses call_soon from outside; "
        "call it before shutdown(), or from inside the runtime");
  }
}

namespace {
// when_ns == kNeverNs: the scheduler checks the caller but sets no timer (asyncio's call_at(inf)
// is a handle that never fires).
TimerHandle schedule_at(detail::Scheduler& scheduler, std::int64_t when_ns,
                        std::function<void()> callback) {
  auto timer = std::make_shared<detail::TimerCallback>();
  timer->callback = std::move(callback);
  timer->when_ns = when_ns;
  scheduler.call_at(timer);
  return TimerHandle(std::move(timer));
}
}  // namespace

TimerHandle Runtime::call_at(double when, std::function<void()> callback) {
  return call_at(when, std::move(callback), copy_context());
}

TimerHandle Runtime::call_at(double when, std::function<void()> callback, Context context) {
  return schedule_at(*scheduler_, detail::seconds_to_ns(when, "call_at()"),
                     in_context(std::move(callback), context.state()));
}

TimerHandle Runtime::call_later(double delay, std::function<void()> callback) {
  return call_later(delay, std::move(callback), copy_context());
}

TimerHandle Runtime::call_later(double delay, std::function<void()> callback, Context context) {
  std::int64_t when =
      detail::deadline_after(scheduler_->now_ns(), detail::seconds_to_ns(delay, "call_later()"));
  return schedule_at(*scheduler_, when, in_context(std::move(callback), context.state()));
}

bool Runtime::get_debug() const noexcept {
  return scheduler_->debug();
}
double Runtime::slow_callback_duration() const noexcept {
  return scheduler_->slow_callback_duration();
}
void Runtime::set_slow_callback_duration(double seconds) {
  scheduler_->set_slow_callback_duration(seconds);
}
bool Runtime::is_closed() const noexcept {
  return scheduler_->closed();
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
  if (timer_ && timer_->when_ns == detail::kNeverNs) return std::numeric_limits<double>::infinity();
  return timer_ ? static_cast<double>(timer_->when_ns) * 1e-9 : 0.0;
}

}  // namespace weft
