// Generator<Y, S, R>: Python's generator (typing's Generator[Y, S, R]) with a stack of its own.
// The body receives a `yield_` callable: `yield_(v)` suspends with v and returns what was sent
// (empty for next()/None).
//
//   weft::Generator<int> countdown([](auto& yield_) { for (int i = 3; i > 0; --i) yield_(i); });
//   for (int i : countdown) std::cout << i;   // 321
#pragma once

#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include "weft/source_location.hpp"

#include "weft/detail/generator_frame.hpp"
#include "weft/locals.hpp"
#include "weft/states.hpp"
#include "weft/step.hpp"

namespace weft {

template <class Y, class S = std::monostate, class R = void>
class Generator {
 public:
  // What the body calls to yield: `yield_(v)` returns what send(s) sent (nullopt for next()).
  using Yield = detail::GeneratorYield<Y, S, detail::FrameKind::generator>;

  // `body(yield_)` runs at the first send(); it returns R.
  template <class F>
  explicit Generator(F body, SourceLocation where = SourceLocation::current())
      : frame_(
            new BodyFrame<F>(detail::FrameName::literal("<generator>"), where, std::move(body))) {}
  template <class F>
  Generator(F body, std::string name, SourceLocation where = SourceLocation::current())
      : frame_(new BodyFrame<F>(detail::FrameName::copy(std::move(name)), where, std::move(body))) {
  }
  Generator(Generator&&) noexcept = default;
  Generator& operator=(Generator&&) noexcept = default;

  // next(): runs to the next yield. On an exhausted generator: returned, with no value.
  Step<Y, R> send() {
    detail::StepReceiver<Y, R> outcome(checked_frame());
    return outcome.step(frame_->send(nullptr, outcome.receiver()));
  }
  // send(v): resumes with v as the value of the yield. TypeError before the first yield.
  Step<Y, R> send(S value) {
    detail::StepReceiver<Y, R> outcome(checked_frame());
    return outcome.step(frame_->send(&value, outcome.receiver()));
  }
  Step<Y, R> throw_(std::exception_ptr error) {
    detail::StepReceiver<Y, R> outcome(checked_frame());
    return outcome.step(frame_->throw_in(std::move(error), outcome.receiver()));
  }
  template <class E>
  requires(!std::same_as<std::decay_t<E>, std::exception_ptr>) Step<Y, R> throw_(E&& error) {
    return throw_(std::make_exception_ptr(std::forward<E>(error)));
  }
  void close() { checked_frame().close(); }

  std::string name() const { return checked_frame().name(); }
  explicit operator bool() const noexcept { return static_cast<bool>(frame_); }
  detail::Frame& frame() const { return checked_frame(); }

  // Range-for over the yielded values (each next() moves the generator on).
  class iterator {
   public:
    using value_type = Y;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Y& operator*() const { return *generator_->current_; }
    Y* operator->() const { return &*generator_->current_; }
    iterator& operator++() {
      generator_->advance();
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return !generator_->current_; }

   private:
    friend class Generator;
    explicit iterator(Generator* generator) : generator_(generator) {}
    Generator* generator_ = nullptr;
  };
  iterator begin() {
    advance();
    return iterator(this);
  }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  template <class F>
  using BodyFrame = detail::GeneratorFrame<R, F, Yield, detail::FrameKind::generator>;

  // A moved-from handle has no frame: a clear error rather than a null dereference.
  detail::ResultFrame<R>& checked_frame() const {
    if (!frame_) throw RuntimeError("weft: this Generator handle is empty (moved from?)");
    return *frame_;
  }
  void advance() {
    current_.reset();
    // Taken through the receiver; a for loop drops the return value, as Python's does.
    detail::StepReceiver<Y, R> outcome(checked_frame());
    if (frame_->send(nullptr, outcome.receiver())) current_ = std::move(outcome.yielded());
  }

  std::unique_ptr<detail::ResultFrame<R>, detail::FrameDeleter> frame_;
  std::optional<Y> current_;  // the value under the range-for iterator
};

template <class Y, class S, class R>
GenState getgeneratorstate(const Generator<Y, S, R>& generator) {
  switch (generator.frame().state()) {
    case detail::FrameState::created:
      return GEN_CREATED;
    case detail::FrameState::running:
      return GEN_RUNNING;
    case detail::FrameState::suspended:
      return GEN_SUSPENDED;
    default:
      return GEN_CLOSED;
  }
}

template <class Y, class S, class R>
Locals getgeneratorlocals(const Generator<Y, S, R>& generator) {
  return detail::collect_locals(generator.frame());
}

}  // namespace weft
