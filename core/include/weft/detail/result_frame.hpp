// Internal: a Frame that stores its body's return value, and the frame for a concrete callable.
#pragma once

#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>

#include "weft/detail/frame.hpp"
#include "weft/step.hpp"

namespace weft::detail {

template <class R>
class ResultFrame : public Frame {
 public:
  using Frame::Frame;
  // The value the body returned; empty until it has.
  std::optional<Value<R>>& result() noexcept { return result_; }

 protected:
  template <class F>
  void store_result_of(F&& call) {
    if constexpr (std::is_void_v<R>) {
      std::forward<F>(call)();
      result_.emplace();
    } else {
      result_.emplace(std::forward<F>(call)());
    }
  }

 private:
  std::optional<Value<R>> result_;
};

// Takes one step's outcome from a ResultFrame whose body suspends with Y values, through the
// frame's Receiver: before the state word is published, so that racing drivers never touch a
// value another one is taking (see Frame::Receiver).
template <class Y, class R>
class StepReceiver {
 public:
  explicit StepReceiver(ResultFrame<R>& frame) : frame_(frame) {}
  StepReceiver(const StepReceiver&) = delete;
  StepReceiver& operator=(const StepReceiver&) = delete;

  Frame::Receiver receiver() noexcept { return {&on_yield, &on_return, this}; }

  // The step: what the body suspended with, or what it returned. A frame that was already
  // closed returns with no value (an exhausted generator's StopIteration carries None).
  Step<Y, R> step(bool suspended) {
    if (suspended) return Step<Y, R>::suspended_with(std::move(*yielded_));
    return Step<Y, R>::returned_with(std::move(result_));
  }

  std::optional<Y>& yielded() noexcept { return yielded_; }
  // What the body returned, if the step ended it by a return.
  std::optional<Value<R>>& returned() noexcept { return result_; }

 private:
  static void on_yield(void* self, void* yielded) {
    auto* me = static_cast<StepReceiver*>(self);
    if constexpr (std::is_default_constructible_v<Y>) {
      if (!yielded) {
        me->yielded_.emplace();  // suspended with nothing: None
        return;
      }
    }
    me->yielded_.emplace(std::move(*static_cast<Y*>(yielded)));
  }
  static void on_return(void* self) {
    auto* me = static_cast<StepReceiver*>(self);
    // Taken, not copied: the frame keeps none, so only this step reports the return value.
    me->result_ = std::move(me->frame_.result());
    me->frame_.result().reset();
  }

  ResultFrame<R>& frame_;
  std::optional<Y> yielded_;
  std::optional<Value<R>> result_;
};

// A frame's body (its callable and arguments) is destroyed as soon as the body has returned or
// thrown, on the body's own fiber, as Python clears a finished coroutine's frame: what it
// captured -- often handles to other tasks, which may hold this one -- is released then, not when
// the last handle to the frame goes, so a cycle of captured handles cannot leak.
template <class Body>
struct ClearWhenBodyEnds {
  std::optional<Body>& body;
  ~ClearWhenBodyEnds() { body.reset(); }
};

// The body is `fn(args...)`.
template <class R, class F, class... Args>
class CallableFrame final : public ResultFrame<R> {
 public:
  CallableFrame(FrameKind kind, FrameName name, SourceLocation where, F fn, Args... args)
      : ResultFrame<R>(kind, std::move(name), where) {
    body_.emplace(std::move(fn), std::move(args)...);
  }

 private:
  void run_body() override {
    ClearWhenBodyEnds<std::tuple<F, Args...>> clear{body_};
    this->store_result_of([this]() -> decltype(auto) {
      return std::apply(
          [](F& fn, Args&... args) -> decltype(auto) { return std::invoke(fn, args...); }, *body_);
    });
  }
  std::optional<std::tuple<F, Args...>> body_;
};

}  // namespace weft::detail
