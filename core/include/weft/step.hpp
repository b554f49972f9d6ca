// What one send()/throw_() reports: the frame suspended with a value (Python returns it), or it
// returned (Python raises StopIteration carrying the return value).
#pragma once

#include <optional>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/errors.hpp"

namespace weft {

// A return type usable in containers: void becomes std::monostate.
template <class R>
using Value = std::conditional_t<std::is_void_v<R>, std::monostate, R>;

template <class Y, class R>
class Step {
 public:
  static Step suspended_with(Y yielded) { return Step(std::in_place_index<0>, std::move(yielded)); }
  static Step returned_with(std::optional<Value<R>> value) {
    return Step(std::in_place_index<1>, std::move(value));
  }

  bool suspended() const noexcept { return state_.index() == 0; }
  bool returned() const noexcept { return state_.index() == 1; }

  // What the frame suspended with. InvalidStateError if it returned instead.
  Y& yielded() {
    if (!suspended()) throw InvalidStateError("the frame returned; it did not suspend");
    return std::get<0>(state_);
  }
  // The return value (StopIteration.value). InvalidStateError if it suspended, or if it was an
  // exhausted generator that had nothing left to return.
  Value<R>& value() {
    if (!returned()) throw InvalidStateError("the frame suspended; it has not returned");
    auto& value = std::get<1>(state_);
    if (!value) throw InvalidStateError("the generator was already exhausted");
    return *value;
  }

 private:
  template <std::size_t I, class V>
  Step(std::in_place_index_t<I> index, V&& v) : state_(index, std::forward<V>(v)) {}
  std::variant<Y, std::optional<Value<R>>> state_;
};

}  // namespace weft
