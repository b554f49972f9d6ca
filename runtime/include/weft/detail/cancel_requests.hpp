// Internal: the bookkeeping of asyncio's Task.cancel -- _must_cancel, _cancel_message,
// _num_cancels_requested -- kept apart from the state word (task_state.hpp) and the step that
// acts on it (task_step.cpp). The rules that use it are in task_cancel.cpp.
//
// Every member is guarded by the owning task's lock, except pending_hint(), which the step reads
// without it to skip the lock when no cancellation can be waiting.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <utility>

namespace weft::detail {

class CancelRequests {
 public:
  // ---- Task.cancelling() / uncancel(): the count of requests not yet taken back
  void count() noexcept { ++requested_; }
  int cancelling() const noexcept {
    // A refusal must not take back a request somebody has read: see settle_in_flight.
    if (in_flight_ > 0) in_flight_observed_ = true;
    return requested_;
  }
  int uncancel() noexcept {
    if (in_flight_ > 0) in_flight_observed_ = true;
    if (requested_ > 0) {
      --requested_;
      if (requested_ == 0) set_must_cancel(false);  // as CPython 3.13
    }
    return requested_;
  }

  // ---- A request counted and being passed on to the awaited future outside the lock.
  void begin_in_flight() noexcept { ++in_flight_; }
  // One in-flight request is decided; true if cancelling()/uncancel() read the count meanwhile.
  bool settle_in_flight() noexcept {
    bool observed = in_flight_observed_;
    if (--in_flight_ == 0) in_flight_observed_ = false;
    return observed;
  }
  // The request was refused after all (the coroutine returned first, and nobody saw the count).
  void take_back() noexcept { --requested_; }

  // ---- _must_cancel / _cancel_message: raise CancelledError(message) at the next step.
  void must_cancel(std::string message) {
    message_ = std::move(message);
    set_must_cancel(true);
  }
  bool must_cancel() const noexcept { return must_cancel_; }
  const std::string& message() const noexcept { return message_; }
  void clear_must_cancel() noexcept { set_must_cancel(false); }

  // ---- The wait a cancellation interrupted, as asyncio cancels a sleep's future: the coroutine
  // raises CancelledError with *this* message even if later requests bring others (the first
  // message wins while the task waits, asyncio 3.11+). Cleared by the step that raises it.
  void interrupt_wait(std::string message) {
    interrupted_wait_ = std::move(message);
    update_hint();
  }
  std::optional<std::string> take_interrupted_wait() noexcept {
    std::optional<std::string> message = std::exchange(interrupted_wait_, std::nullopt);
    update_hint();
    return message;
  }

  // Lock-free: false means no step needs to look (no _must_cancel, no interrupted wait).
  bool pending_hint() const noexcept {
    // Acquire: pairs with update_hint's release; a step that reads true then takes the lock.
    return pending_hint_.load(std::memory_order_acquire);
  }

  // ---- asyncio.run's teardown cancels each task once: true the first time only.
  bool first_teardown() noexcept { return !std::exchange(teardown_cancelled_, true); }

 private:
  void set_must_cancel(bool value) noexcept {
    must_cancel_ = value;
    update_hint();
  }
  void update_hint() noexcept {
    // Release: a step that reads true with acquire sees the message written before.
    pending_hint_.store(must_cancel_ || interrupted_wait_.has_value(), std::memory_order_release);
  }

  bool must_cancel_ = false;
  std::string message_;
  std::optional<std::string> interrupted_wait_;
  std::atomic<bool> pending_hint_{false};
  int requested_ = 0;
  // cancel() calls that counted a request and are passing it on, outside the lock; and whether
  // cancelling()/uncancel() read the count while one was.
  int in_flight_ = 0;
  mutable bool in_flight_observed_ = false;
  bool teardown_cancelled_ = false;
};

}  // namespace weft::detail
