// Internal: what Generator and AsyncGenerator share -- the `yield_` their body is given, and the
// frame that runs `body(yield_)`. The two differ in one thing: an async generator's body may
// also await, so its yields are marked (AsyncGenYield) for the driver to tell them apart.
#pragma once

#include <any>
#include <optional>
#include <string>
#include <utility>

#include "weft/detail/result_frame.hpp"

namespace weft::detail {

// What an async generator's yield hands to asend(): distinguishes a yielded value from an await
// inside the body, which asend relays to the task.
struct AsyncGenYield {
  void* value;
};

// The body's `yield_(value)`: suspends the generator with `value` and returns what the driver
// sent back (nullopt for a plain next()).
template <class Y, class S, FrameKind Kind>
class GeneratorYield {
 public:
  explicit GeneratorYield(Frame* frame) : frame_(frame) {}
  std::optional<S> operator()(Y value) {
    void* sent;
    if constexpr (Kind == FrameKind::async_generator) {
      std::any marker = AsyncGenYield{&value};
      sent = frame_->suspend_from_body(&marker);
    } else {
      sent = frame_->suspend_from_body(&value);
    }
    if (!sent) return std::nullopt;
    return std::move(*static_cast<S*>(sent));
  }

 private:
  Frame* frame_;
};

// The frame of a generator of either kind: runs `body(yield_)` at the first send and keeps what
// it returns. The body is destroyed as soon as it ends (see ClearWhenBodyEnds).
template <class R, class F, class Yield, FrameKind Kind>
class GeneratorFrame final : public ResultFrame<R> {
 public:
  GeneratorFrame(FrameName name, SourceLocation where, F body)
      : ResultFrame<R>(Kind, std::move(name), where) {
    body_.emplace(std::move(body));
  }

 private:
  void run_body() override {
    Yield yield_(this);
    ClearWhenBodyEnds<F> clear{body_};  // after the body, before yield_
    this->store_result_of([&]() -> decltype(auto) { return (*body_)(yield_); });
  }
  std::optional<F> body_;
};

}  // namespace weft::detail
