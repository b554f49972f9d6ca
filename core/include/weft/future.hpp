// Future<T>: asyncio.Future -- a result that will exist later. Thread-safe: any thread may
// complete, cancel or inspect it. A shared handle: copies refer to the same future.
//
// Done callbacks are scheduled on the runtime the future was made in (asyncio's call_soon);
// a future made outside any runtime runs them inline when it completes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <type_traits>

#include "weft/coroutine.hpp"
#include "weft/detail/done_callback.hpp"
#include "weft/detail/future_core.hpp"
#include "weft/errors.hpp"
#include "weft/step.hpp"

namespace weft {

namespace detail {
template <class T>
class ValueFuture : public FutureCore {
 public:
  ValueFuture() = default;
  using FutureCore::FutureCore;
  std::optional<Value<T>> value;  // set once, under the future's lock, before it is published
};
}  // namespace detail

template <class T = void>
class Future {
 public:
  // From the block pool: the sync primitives make one per wait.
  Future() : Future(detail::make_ref<detail::ValueFuture<T>>()) {}

  FutureState state() const noexcept { return core_->state(); }
  // The runtime the future belongs to (asyncio's get_loop); RuntimeError if made outside one.
  Runtime& get_loop() const { return core_->get_loop(); }
  bool done() const noexcept { return core_->done(); }
  bool cancelled() const noexcept { return core_->cancelled(); }

  // The value; rethrows the exception; CancelledError if cancelled; InvalidStateError if pending.
  // The reference lives as long as the future.
  decltype(auto) result() const {
    core_->check_result();
    if constexpr (std::is_void_v<T>)
      return;
    else
      return static_cast<const T&>(**value_);
  }
  // The exception (null if it finished with a value); CancelledError / InvalidStateError as above.
  std::exception_ptr exception() const { return core_->exception(); }

  void set_result() requires std::is_void_v<T> {
    core_->finish([this] { value_->emplace(); }, "set_result");
  }
  template <class V>
  requires(!std::is_void_v<T> &&
           std::is_constructible_v<Value<T>, V&&>) void set_result(V&& value) {
    core_->finish([&] { value_->emplace(std::forward<V>(value)); }, "set_result");
  }
  void set_exception(std::exception_ptr error) { core_->set_exception(std::move(error)); }
  template <class E>
  requires(!std::same_as<std::decay_t<E>, std::exception_ptr>) void set_exception(E&& error) {
    set_exception(std::make_exception_ptr(std::forward<E>(error)));
  }

  // Cancels if pending (callbacks scheduled); false if already done.
  bool cancel(std::string message = {}) { return core_->cancel(std::move(message)); }

  // fn(future) runs (soon) when the future is done -- scheduled at once if it already is -- in
  // the order callbacks and awaiting tasks were added. Returns an id for remove_done_callback.
  template <class F>
  std::uint64_t add_done_callback(F fn) {
    return core_->add_done_callback(Callback<F>{std::move(fn), value_});
  }
  // Removes the callback `id` names; or, asyncio's form, every registration of `fn` (a function
  // pointer, or a callable with ==). Returns how many it removed.
  std::size_t remove_done_callback(std::uint64_t id) { return core_->remove_done_callback(id); }
  template <detail::ComparableCallback F>
  std::size_t remove_done_callback(F fn) {
    return detail::remove_done_callbacks_equal_to<Callback<F>>(*core_, fn);
  }

  std::string repr() const { return core_->repr(); }
  friend bool operator==(const Future& a, const Future& b) { return a.core_ == b.core_; }

  // Inside a coroutine: waits until done and returns the result (a copy, or the moved value for
  // move-only types -- then only one awaiter may take it).
  Value<T> await() const {
    if (!core_->done()) {
      suspend(detail::AwaitFuture{core_.get()});
      if (!core_->done()) throw RuntimeError("await wasn't used with future");
    }
    core_->check_result();
    if constexpr (std::is_void_v<T>)
      return {};
    else if constexpr (std::is_copy_constructible_v<T>)
      return **value_;
    else
      return std::move(**value_);
  }

  // Internal: a future, or a view of another object that is one (a Task: `value` is where it
  // keeps its result, inside `core`).
  explicit Future(const detail::Ref<detail::ValueFuture<T>>& core)
      : core_(core), value_(&core->value) {}
  Future(detail::Ref<detail::FutureCore> core, std::optional<Value<T>>* value)
      : core_(std::move(core)), value_(value) {}
  detail::FutureCore& core() const noexcept { return *core_; }

 private:
  template <class F>
  struct Callback {
    F fn;
    // No reference to the future (it owns its callbacks: that would be a cycle): the one that
    // runs the callback is the one it was added to, and holds it meanwhile.
    std::optional<Value<T>>* value;
    void operator()(detail::FutureCore& core) {
      Future self(detail::Ref<detail::FutureCore>(&core), value);
      fn(self);
    }
  };

  detail::Ref<detail::FutureCore> core_;
  std::optional<Value<T>>* value_;  // inside *core_
};

}  // namespace weft
