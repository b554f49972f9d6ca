// The timeout scope's state machine (asyncio.Timeout): CREATED -> ENTERED -> EXPIRING ->
// EXPIRED, or ENTERED -> EXITED. The timer callback runs on the worker that set it while the
// body may be running on another, so the expiry (which cancels the task) and the exit are
// serialized by a mutex: once the scope has exited, a late timer can no longer cancel the task.
#include <mutex>

#include "weft/detail/runtime_access.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/errors.hpp"
#include "weft/timeout.hpp"

namespace weft::detail {

class TimeoutState : public std::enable_shared_from_this<TimeoutState> {
 public:
  enum class Phase { entered, expiring, expired, exited };

  std::mutex mutex;
  Phase phase = Phase::entered;  // guarded by mutex
  std::optional<double> when;    // guarded by mutex
  TimerHandle timer;             // guarded by mutex
  TaskRef task;
  int cancelling_at_enter = 0;
  Runtime* loop = nullptr;

  // Called with the mutex held.
  void arm_locked() {
    timer.cancel();
    timer = TimerHandle();
    if (!when) return;
    std::weak_ptr<TimeoutState> weak = weak_from_this();
    auto on_timeout = [weak] {
      if (auto self = weak.lock()) self->expire();
    };
    if (*when <= loop->time()) {
      loop->call_soon(on_timeout);
    } else {
      timer = loop->call_at(*when, on_timeout);
    }
  }

  void expire() {
    std::lock_guard lock(mutex);
    if (phase != Phase::entered) return;
    task.cancel();
    phase = Phase::expiring;
  }
};

namespace {
// Only NaN is refused: an infinite or huge deadline arms a timer that call_at keeps as never.
void check_deadline(std::optional<double> when) {
  if (when) seconds_to_ns(*when, "timeout(), timeout_at() or wait_for()");
}
}  // namespace

std::shared_ptr<TimeoutState> enter_timeout(std::optional<double> when) {
  check_deadline(when);
  TaskRef task = current_task();
  if (!task) throw RuntimeError("Timeout should be used inside a task");
  auto state = std::make_shared<TimeoutState>();
  state->task = task;
  state->loop = &get_running_loop();
  state->cancelling_at_enter = task.cancelling();
  std::lock_guard lock(state->mutex);
  state->when = when;
  state->arm_locked();
  return state;
}

bool exit_timeout(TimeoutState& state, bool cancelled_error) {
  TimeoutState::Phase phase;
  {
    std::lock_guard lock(state.mutex);
    state.timer.cancel();
    phase = state.phase;
    state.phase = phase == TimeoutState::Phase::expiring ? TimeoutState::Phase::expired
                                                         : TimeoutState::Phase::exited;
  }
  if (phase != TimeoutState::Phase::expiring) return false;
  // Our expiry cancelled the task once; take that back. If no other cancellation is pending,
  // the CancelledError leaving the body is ours: it becomes TimeoutError.
  return state.task.uncancel() <= state.cancelling_at_enter && cancelled_error;
}

}  // namespace weft::detail

namespace weft {

std::optional<double> Timeout::when() const {
  std::lock_guard lock(state_->mutex);
  return state_->when;
}

void Timeout::reschedule(std::optional<double> when) {
  std::lock_guard lock(state_->mutex);
  if (state_->phase != detail::TimeoutState::Phase::entered) {
    const char* phase = state_->phase == detail::TimeoutState::Phase::exited    ? "finished"
                        : state_->phase == detail::TimeoutState::Phase::expired ? "expired"
                                                                                : "expiring";
    throw RuntimeError(std::string("Cannot change state of ") + phase + " Timeout");
  }
  detail::check_deadline(when);
  state_->when = when;
  state_->arm_locked();
}

bool Timeout::expired() const {
  std::lock_guard lock(state_->mutex);
  return state_->phase == detail::TimeoutState::Phase::expiring ||
         state_->phase == detail::TimeoutState::Phase::expired;
}

}  // namespace weft
