// Internal: the bookkeeping of asyncio's Task.cancel -- _must_cancel, _cancel_message,
// _num_cancels_requested -- kept apart from the state word (task_state.hpp) and the step that
// acts on it (task_step.cpp). The rules that use it are in task_cancel.cpp.
//
// Every member is guarded by the owning task's lock, except pending_hint(), which the step reads
// without it to skip the lock when no cancellation can be waiting.
#pragma once

#include <atomic>
#include <memory>
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

  // ---- The messages, kept apart: most tasks are never cancelled, and two strings inline would
  // cost each of them 72 bytes. A request makes its Messages before taking the task's lock
  // (make_messages: the copy and any allocation happen there, so nothing under the spinlock can
  // throw) and hands it in; the first one is kept, later ones only move their string across.
  struct Messages {
    std::string must_cancel;                      // _cancel_message
    std::optional<std::string> interrupted_wait;  // see interrupt_wait
  };
  static std::unique_ptr<Messages> make_messages(const std::string& message) {
    auto messages = std::make_unique<Messages>();
    messages->must_cancel = message;
    return messages;
  }

  // ---- _must_cancel / _cancel_message: raise CancelledError(message) at the next step.
  void must_cancel(std::unique_ptr<Messages>& request) noexcept {
    if (!messages_) {
      messages_ = std::move(request);
    } else {
      messages_->must_cancel = std::move(request->must_cancel);
    }
    set_must_cancel(true);
  }
  bool must_cancel() const noexcept { return must_cancel_; }
  const std::string& message() const noexcept {
    static const std::string none;
    return messages_ ? messages_->must_cancel : none;
  }
  void clear_must_cancel() noexcept { set_must_cancel(false); }

  // ---- The wait a cancellation interrupted, as asyncio cancels a sleep's future: the coroutine
  // raises CancelledError with *this* message even if later requests bring others (the first
  // message wins while the task waits, asyncio 3.11+). Cleared by the step that raises it.
  void interrupt_wait(std::unique_ptr<Messages>& request) noexcept {
    if (!messages_) {
      messages_ = std::move(request);
      messages_->interrupted_wait = std::move(messages_->must_cancel);
      messages_->must_cancel.clear();
    } else {
      messages_->interrupted_wait = std::move(request->must_cancel);
    }
    update_hint();
  }
  // The step found _must_cancel as it began a sleep: that request's message interrupts it.
  void interrupt_wait_with_must_cancel_message() noexcept {
    // must_cancel_ is set, so messages_ exists (only must_cancel(request) sets the flag).
    messages_->interrupted_wait = std::move(messages_->must_cancel);
    messages_->must_cancel.clear();
    update_hint();
  }
  std::optional<std::string> take_interrupted_wait() noexcept {
    if (!messages_) return std::nullopt;
    std::optional<std::string> message = std::exchange(messages_->interrupted_wait, std::nullopt);
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
    pending_hint_.store(must_cancel_ || (messages_ && messages_->interrupted_wait.has_value()),
                        std::memory_order_release);
  }

  // Widest first, so that the four flags share a word with nothing to pad (every task has one).
  std::unique_ptr<Messages> messages_;
  int requested_ = 0;
  // cancel() calls that counted a request and are passing it on, outside the lock; and whether
  // cancelling()/uncancel() read the count while one was (in_flight_observed_, below).
  int in_flight_ = 0;
  bool must_cancel_ = false;
  std::atomic<bool> pending_hint_{false};
  mutable bool in_flight_observed_ = false;
  bool teardown_cancelled_ = false;
};

}  // namespace weft::detail
