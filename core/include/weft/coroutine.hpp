// Coroutine<R>: Python's coroutine object for a C++ callable, run on its own stack (a fiber).
//
//   weft::Coroutine<int> c = weft::coro(fetch, 7);   // CORO_CREATED: nothing has run
//   auto step = c.send();                            // runs until it suspends or returns
//   if (step.returned()) use(step.value());
//
// Inside a coroutine, weft::await(x) waits for a coroutine (run inline, like `await coro`), a
// Task or a Future; weft::suspend(v) is the raw yield a custom awaitable makes (its __await__).
#pragma once

#include <any>
#include <concepts>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include "weft/source_location.hpp"

#include "weft/detail/result_frame.hpp"
#include "weft/locals.hpp"
#include "weft/states.hpp"
#include "weft/step.hpp"

namespace weft {

template <class R>
class Coroutine {
 public:
  using result_type = R;

  Coroutine() = default;  // an empty handle
  Coroutine(Coroutine&&) noexcept = default;
  Coroutine& operator=(Coroutine&&) noexcept = default;

  // Starts or resumes the coroutine. The first send must carry no value (None).
  Step<std::any, R> send(std::any value = {}) {
    detail::StepReceiver<std::any, R> outcome(frame());
    return outcome.step(frame_->send(value.has_value() ? &value : nullptr, outcome.receiver()));
  }
  // Raises `error` at the suspension point (before the first line, if it has not started).
  Step<std::any, R> throw_(std::exception_ptr error) {
    detail::StepReceiver<std::any, R> outcome(frame());
    return outcome.step(frame_->throw_in(std::move(error), outcome.receiver()));
  }
  template <class E>
  requires(!std::same_as<std::decay_t<E>, std::exception_ptr>) Step<std::any, R> throw_(E&& error) {
    return throw_(std::make_exception_ptr(std::forward<E>(error)));
  }
  // Raises GeneratorExit at the suspension point so its cleanup runs; silent if not started or
  // already closed. RuntimeError if the coroutine suspends again instead of ending. As Python
  // 3.13's close(): the value the coroutine returned from its GeneratorExit handler, or nullopt
  // (it let GeneratorExit end it, or it had not started, or was closed already).
  std::optional<Value<R>> close() {
    detail::StepReceiver<std::any, R> outcome(frame());
    frame_->close(outcome.receiver());
    return std::move(outcome.returned());
  }

  std::string name() const { return frame().name(); }
  void set_name(std::string name) { frame().set_name(std::move(name)); }
  explicit operator bool() const noexcept { return static_cast<bool>(frame_); }

  // Internal: a handle to `frame`, which the caller made (and, if embedded, keeps the memory of).
  static Coroutine adopt(detail::ResultFrame<R>* frame) noexcept {
    Coroutine coroutine;
    coroutine.frame_.reset(frame);
    return coroutine;
  }
  // Internal: the frame behind the handle.
  detail::ResultFrame<R>& frame() const {
    if (!frame_) throw RuntimeError("weft: this Coroutine handle is empty (moved from?)");
    return *frame_;
  }

 protected:
  template <class F, class... Args>
  void make_frame(detail::FrameName name, SourceLocation where, F fn, Args... args) {
    frame_.reset(new detail::CallableFrame<R, F, Args...>(
        detail::FrameKind::coroutine, std::move(name), where, std::move(fn), std::move(args)...));
  }

 private:
  std::unique_ptr<detail::ResultFrame<R>, detail::FrameDeleter> frame_;
};

// Makes a coroutine that will run fn(args...) (arguments are copied, as std::thread does; pass
// std::ref to share). `weft::coro(fn, args...)` is-a Coroutine<R>; it records where it was made.
template <class F, class... Args>
class coro : public Coroutine<std::invoke_result_t<F&, Args&...>> {
 public:
  explicit coro(F fn, Args... args, SourceLocation where = SourceLocation::current()) {
    this->make_frame(detail::FrameName::literal("<lambda>"), where, std::move(fn),
                     std::move(args)...);
  }
};
template <class F, class... Args>
coro(F, Args...) -> coro<F, Args...>;

// A named coroutine function, Python's `async def name(...)`: calling it makes a coroutine
// object and runs nothing.
//   inline const weft::CoroutineFunction fetch{"fetch", [](int id) { ...; return 42; }};
//   weft::Coroutine<int> c = fetch(7);
template <class F>
class CoroutineFunction {
 public:
  CoroutineFunction(const char* name, F fn, SourceLocation where = SourceLocation::current())
      : name_(name), fn_(std::move(fn)), where_(where) {}

  template <class... Args>
  Coroutine<std::invoke_result_t<const F&, std::decay_t<Args>&...>> operator()(
      Args&&... args) const {
    return Named<std::decay_t<Args>...>(name_, where_, fn_, std::forward<Args>(args)...);
  }
  const char* name() const noexcept { return name_; }

 private:
  template <class... A>
  struct Named : Coroutine<std::invoke_result_t<const F&, A&...>> {
    template <class... Fwd>
    Named(const char* name, SourceLocation where, const F& fn, Fwd&&... args) {
      this->make_frame(detail::FrameName::literal(name), where, fn, A(std::forward<Fwd>(args))...);
    }
  };
  const char* name_;
  F fn_;
  SourceLocation where_;
};

template <class R>
CoroState getcoroutinestate(const Coroutine<R>& coroutine) {
  switch (coroutine.frame().state()) {
    case detail::FrameState::created:
      return CORO_CREATED;
    case detail::FrameState::running:
      return CORO_RUNNING;
    case detail::FrameState::suspended:
      return CORO_SUSPENDED;
    default:
      return CORO_CLOSED;
  }
}

template <class R>
Locals getcoroutinelocals(const Coroutine<R>& coroutine) {
  return detail::collect_locals(coroutine.frame());
}

// The raw yield: suspends the running coroutine, handing `yielded` to whatever drives it, and
// returns the value the driver sends back (empty for None) or throws what it throws in.
// This is what a custom awaitable's await() does; tasks expect only the runtime's own yields.
std::any suspend(std::any yielded = {});

// A custom awaitable: a type whose await() runs on the awaiting coroutine's stack, may call
// weft::suspend() any number of times, and returns the result of the await.
template <class A>
concept CustomAwaitable = requires(A& a) {
  a.await();
};

// `await coro`: runs a fresh coroutine inline on the current stack; a started one is driven
// like `yield from`. RuntimeError for a coroutine that is closed or already being awaited.
// The handle keeps its coroutine, as Python's does: afterwards it reports CORO_CLOSED, and
// awaiting it again is "cannot reuse already awaited coroutine".
// Each await records where it was written, for Task::get_stack().
template <class R>
R await(Coroutine<R>& coroutine, SourceLocation where = SourceLocation::current());
// A temporary (or a handle given away with std::move) lives until the await ends.
template <class R>
R await(Coroutine<R>&& coroutine, SourceLocation where = SourceLocation::current()) {
  Coroutine<R> owned = std::move(coroutine);
  return await(owned, where);
}

template <CustomAwaitable A>
decltype(auto) await(A&& awaitable, SourceLocation where = SourceLocation::current()) {
  detail::Frame::record_await_site(where);
  return awaitable.await();
}

// ---- implementation ----

template <class R>
R await(Coroutine<R>& coroutine, SourceLocation where) {
  detail::Frame::record_await_site(where);
  auto& frame = coroutine.frame();
  if (frame.raw_state() == detail::FrameState::suspended) {
    // `yield from` a coroutine that was started by hand: relay its yields and our sends.
    auto step = coroutine.send();
    for (;;) {
      if (step.returned()) break;
      std::any reply;
      try {
        reply = suspend(std::move(step.yielded()));
      } catch (const GeneratorExit&) {
        coroutine.close();
        throw;
      } catch (...) {
        step = coroutine.throw_(std::current_exception());
        continue;
      }
      step = coroutine.send(std::move(reply));
    }
    if constexpr (!std::is_void_v<R>)
      return std::move(step.value());
    else
      return;
  }
  frame.run_delegated();
  if constexpr (!std::is_void_v<R>) return std::move(*frame.result());
}

}  // namespace weft
