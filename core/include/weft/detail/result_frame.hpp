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

// The body is `fn(args...)`.
template <class R, class F, class... Args>
class CallableFrame final : public ResultFrame<R> {
 public:
  CallableFrame(FrameKind kind, std::string name, SourceLocation where, F fn, Args... args)
      : ResultFrame<R>(kind, std::move(name), where),
        fn_(std::move(fn)),
        args_(std::move(args)...) {}

 private:
  void run_body() override {
    this->store_result_of([this]() -> decltype(auto) { return std::apply(fn_, args_); });
  }
  F fn_;
  std::tuple<Args...> args_;
};

}  // namespace weft::detail
