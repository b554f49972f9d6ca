// timeout(delay, body) / timeout_at(when, body): run `body` and cancel it if it is not done in
// time, raising TimeoutError instead (asyncio.timeout, 3.12 semantics). `body` may take the
// Timeout to inspect or move its deadline; scopes nest, and a cancellation from outside the
// scope stays a CancelledError (the cancel counts of cancelling()/uncancel() tell them apart).
//
//   weft::timeout(10.0, [&] { fetch(); });
//   weft::timeout(std::nullopt, [&](weft::Timeout& t) { t.reschedule(t_loop + 5); ... });
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <type_traits>

#include "weft/errors.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {
class TimeoutState;
}

class Timeout {
 public:
  explicit Timeout(std::shared_ptr<detail::TimeoutState> state) : state_(std::move(state)) {}
  // The deadline on the loop's clock, or nullopt for none.
  std::optional<double> when() const;
  // Moves the deadline (nullopt: no deadline). RuntimeError unless the scope is active.
  void reschedule(std::optional<double> when);
  // Whether the deadline passed and the scope cancelled its body.
  bool expired() const;

 private:
  std::shared_ptr<detail::TimeoutState> state_;
};

namespace detail {
std::shared_ptr<TimeoutState> enter_timeout(std::optional<double> when);
// Ends the scope; true when the CancelledError leaving it is ours to turn into TimeoutError.
bool exit_timeout(TimeoutState& state, bool cancelled_error);

template <class F>
decltype(auto) run_in_timeout(std::optional<double> when, F&& body) {
  auto state = enter_timeout(when);
  Timeout handle(state);
  auto invoke = [&]() -> decltype(auto) {
    if constexpr (std::is_invocable_v<F&, Timeout&>)
      return body(handle);
    else
      return body();
  };
  using R = decltype(invoke());
  try {
    if constexpr (std::is_void_v<R>) {
      invoke();
      exit_timeout(*state, false);
      return;
    } else {
      R result = invoke();
      exit_timeout(*state, false);
      return result;
    }
  } catch (const CancelledError&) {
    // asyncio: raise TimeoutError from exc_val (TimeoutError::cause() is the CancelledError).
    if (exit_timeout(*state, true)) std::throw_with_nested(TimeoutError());
    throw;
  } catch (...) {
    exit_timeout(*state, false);
    throw;
  }
}

inline double seconds_of(double s) {
  return s;
}
template <class Rep, class Period>
double seconds_of(std::chrono::duration<Rep, Period> d) {
  return std::chrono::duration<double>(d).count();
}
}  // namespace detail

template <class F>
decltype(auto) timeout_at(std::optional<double> when, F&& body) {
  return detail::run_in_timeout(when, std::forward<F>(body));
}

template <class D, class F>
decltype(auto) timeout(std::optional<D> delay, F&& body) {
  std::optional<double> when;
  if (delay) when = get_running_loop().time() + detail::seconds_of(*delay);
  return detail::run_in_timeout(when, std::forward<F>(body));
}
template <class D, class F>
requires(!std::is_same_v<std::decay_t<D>, std::nullopt_t>) decltype(auto)
    timeout(D delay, F&& body) {
  return timeout(std::optional<D>(delay), std::forward<F>(body));
}
template <class F>
decltype(auto) timeout(std::nullopt_t, F&& body) {
  return detail::run_in_timeout(std::nullopt, std::forward<F>(body));
}

}  // namespace weft
