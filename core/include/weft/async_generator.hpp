// AsyncGenerator<Y, S>: Python's asynchronous generator -- a generator whose body may await.
// Drive it from a task: anext()/asend() run the body until it yields (the value is returned) or
// ends (nullopt: StopAsyncIteration); whatever the body awaits meanwhile suspends the task.
//
//   weft::AsyncGenerator<int> ticks([](auto& yield_) {
//     for (int i = 0; i < 3; ++i) { weft::sleep(1.0); yield_(i); }
//   });
//   for (int i : ticks) std::cout << i;   // inside a task: async for
#pragma once

#include <any>
#include <atomic>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include "weft/source_location.hpp"

#include "weft/coroutine.hpp"
#include "weft/detail/generator_frame.hpp"
#include "weft/errors.hpp"
#include "weft/locals.hpp"
#include "weft/states.hpp"

namespace weft {

template <class Y, class S = std::monostate>
class AsyncGenerator {
 public:
  // What the body calls to yield: `yield_(v)` returns what asend(s) sent (nullopt for anext()).
  using Yield = detail::GeneratorYield<Y, S, detail::FrameKind::async_generator>;

  template <class F>
  explicit AsyncGenerator(F body, SourceLocation where = SourceLocation::current())
      : AsyncGenerator(detail::FrameName::literal("<async_generator>"), where, std::move(body)) {}
  template <class F>
  AsyncGenerator(F body, std::string name, SourceLocation where = SourceLocation::current())
      : AsyncGenerator(detail::FrameName::copy(std::move(name)), where, std::move(body)) {}
  AsyncGenerator(AsyncGenerator&&) noexcept = default;
  AsyncGenerator& operator=(AsyncGenerator&&) noexcept = default;

  // __anext__: the next value, or nullopt when the generator is exhausted.
  std::optional<Y> anext() { return drive(Mode::send, nullptr, nullptr); }
  // asend(v): resumes with v as the value of the yield. TypeError before the first yield.
  std::optional<Y> asend(S value) { return drive(Mode::send, &value, nullptr); }
  // athrow(e): raises e at the yield; returns the next value yielded, nullopt if it returned.
  std::optional<Y> athrow(std::exception_ptr error) {
    return drive(Mode::throw_in, nullptr, error);
  }
  // aclose(): raises GeneratorExit at the yield (its cleanup may await); RuntimeError if the
  // body yields again instead of ending.
  void aclose() {
    if (frame_->raw_state() == detail::FrameState::closed) return;
    try {
      if (drive(Mode::throw_in, nullptr, std::make_exception_ptr(GeneratorExit{}))) {
        throw RuntimeError("async generator ignored GeneratorExit");
      }
    } catch (const GeneratorExit&) {
      // The expected way to end.
    }
  }

  std::string name() const { return frame_->name(); }
  detail::Frame& frame() const { return *frame_; }
  // ag_running: an anext/asend/athrow/aclose is in progress, even while its body awaits.
  bool ag_running() const noexcept {
    // Relaxed: a status read for introspection; nothing is published through it.
    return running_->load(std::memory_order_relaxed);
  }

  // async for: range-for from inside a task.
  class iterator {
   public:
    using value_type = Y;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Y& operator*() const { return *generator_->current_; }
    iterator& operator++() {
      generator_->current_ = generator_->anext();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !generator_->current_; }

   private:
    friend class AsyncGenerator;
    explicit iterator(AsyncGenerator* g) : generator_(g) {}
    AsyncGenerator* generator_ = nullptr;
  };
  iterator begin() {
    current_ = anext();
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  enum class Mode { send, throw_in };

  template <class F>
  using BodyFrame = detail::GeneratorFrame<void, F, Yield, detail::FrameKind::async_generator>;

  template <class F>
  AsyncGenerator(detail::FrameName name, SourceLocation where, F body)
      : frame_(new BodyFrame<F>(std::move(name), where, std::move(body))),
        running_(std::make_unique<std::atomic<bool>>(false)) {}

  std::optional<Y> drive(Mode mode, void* sent, std::exception_ptr error) {
    // ag_running_async: an asend/athrow in progress may be suspended in an await, where the
    // frame's own word says SUSPENDED; a second driver must still be refused.
    if (running_->exchange(true, std::memory_order_acquire)) {
      throw RuntimeError("anext(): asynchronous generator is already running");
    }
    struct Release {
      std::atomic<bool>& flag;
      ~Release() { flag.store(false, std::memory_order_release); }
    } release{*running_};

    bool suspended = mode == Mode::send ? frame_->send(sent) : frame_->throw_in(error);
    for (;;) {
      if (!suspended) return std::nullopt;  // StopAsyncIteration
      auto* yielded = static_cast<std::any*>(frame_->yielded());
      if (auto* value = std::any_cast<detail::AsyncGenYield>(yielded)) {
        return std::move(*static_cast<Y*>(value->value));
      }
      // The body awaits something: suspend our task on it, then hand the answer back.
      std::any reply;
      try {
        reply = suspend(std::move(*yielded));
      } catch (...) {
        suspended = frame_->throw_in(std::current_exception());
        continue;
      }
      suspended = frame_->send(reply.has_value() ? &reply : nullptr);
    }
  }

  std::unique_ptr<detail::ResultFrame<void>, detail::FrameDeleter> frame_;
  std::unique_ptr<std::atomic<bool>> running_;  // boxed so the generator stays movable
  std::optional<Y> current_;
};

template <class Y, class S>
AgenState getasyncgenstate(const AsyncGenerator<Y, S>& generator) {
  // inspect.getasyncgenstate checks ag_running first: while the body awaits inside an anext,
  // its frame is suspended but the generator is running.
  if (generator.ag_running()) return AGEN_RUNNING;
  switch (generator.frame().state()) {
    case detail::FrameState::created:
      return AGEN_CREATED;
    case detail::FrameState::running:
      return AGEN_RUNNING;
    case detail::FrameState::suspended:
      return AGEN_SUSPENDED;
    default:
      return AGEN_CLOSED;
  }
}

template <class Y, class S>
Locals getasyncgenlocals(const AsyncGenerator<Y, S>& generator) {
  return detail::collect_locals(generator.frame());
}

}  // namespace weft
