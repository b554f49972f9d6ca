// gather(aws...): runs awaitables concurrently and returns their results in order
// (asyncio.gather). Coroutines are wrapped in tasks.
//
//   auto [a, b] = weft::gather(weft::coro(f, 1), task_b);        // a tuple, in argument order
//   std::vector<int> all = weft::gather(tasks);                   // a range gives a vector
//   auto outcomes = weft::gather(weft::return_exceptions, t1, t2); // Outcome<T>: value or error
//
// The first exception propagates (the others keep running); with return_exceptions errors are
// results. A cancelled child counts as CancelledError and does not cancel the gather. Cancelling
// the task that awaits the gather cancels the children that are not done, and then the gather
// raises CancelledError whatever return_exceptions says.
#pragma once

#include <atomic>
#include <exception>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "weft/detail/awaitables.hpp"

namespace weft {

// One result of gather(return_exceptions, ...): the value, or the exception in its place.
template <class T>
class Outcome {
 public:
  explicit Outcome(Value<T> value) : state_(std::in_place_index<0>, std::move(value)) {}
  explicit Outcome(std::exception_ptr error) : state_(std::in_place_index<1>, std::move(error)) {}
  bool has_value() const noexcept { return state_.index() == 0; }
  // The value; rethrows the exception if there is one instead.
  const Value<T>& value() const {
    if (!has_value()) std::rethrow_exception(std::get<1>(state_));
    return std::get<0>(state_);
  }
  std::exception_ptr exception() const noexcept {
    return has_value() ? nullptr : std::get<1>(state_);
  }

 private:
  std::variant<Value<T>, std::exception_ptr> state_;
};

struct ReturnExceptions {};
inline constexpr ReturnExceptions return_exceptions{};

namespace detail {

// asyncio's _GatheringFuture: finished by its children's done callbacks; cancelling it cancels
// the children.
class GatheringFuture final : public FutureCore {
 public:
  GatheringFuture(std::vector<std::shared_ptr<FutureCore>> children, bool return_exceptions);
  // Attaches the done callbacks (needs shared_from_this, so not in the constructor).
  void start();
  CancelPlan begin_cancel(const std::string& message) override;
  bool end_cancel(bool passed_on, const std::string& message) override;

 private:
  void on_child_done(FutureCore& child);
  std::vector<std::shared_ptr<FutureCore>> children_;
  bool return_exceptions_;
  // Relaxed counters: the future's own lock orders its completion; these only count.
  std::atomic<std::size_t> finished_{0};
  std::atomic<bool> cancel_requested_{false};
};

// Waits for all children under gather's rules. Throws what the gather raises.
void await_gathering(std::vector<std::shared_ptr<FutureCore>> children, bool return_exceptions);

template <class F>
Value<typename result_of<F>::type> take_result(const F& f) {
  using R = typename result_of<F>::type;
  if constexpr (std::is_void_v<R>) {
    f.result();
    return {};
  } else {
    return f.result();
  }
}

template <class F>
Outcome<typename result_of<F>::type> take_outcome(const F& f) {
  using R = typename result_of<F>::type;
  if (auto error = outcome_error(f.core())) return Outcome<R>(error);
  return Outcome<R>(take_result(f));
}

}  // namespace detail

template <class... A>
requires(sizeof...(A) > 0 && (!std::is_same_v<std::decay_t<A>, ReturnExceptions> &&
                              ...)) auto gather(A&&... awaitables) {
  // Braces evaluate left to right: the tasks are created (and so run) in argument order.
  std::tuple futures{detail::ensure_future(std::forward<A>(awaitables))...};
  std::apply([](auto&... f) { detail::await_gathering({detail::core_ptr(f)...}, false); }, futures);
  return std::apply([](auto&... f) { return std::make_tuple(detail::take_result(f)...); }, futures);
}

template <class... A>
requires(sizeof...(A) > 0) auto gather(ReturnExceptions, A&&... awaitables) {
  std::tuple futures{detail::ensure_future(std::forward<A>(awaitables))...};
  std::apply([](auto&... f) { detail::await_gathering({detail::core_ptr(f)...}, true); }, futures);
  return std::apply([](auto&... f) { return std::make_tuple(detail::take_outcome(f)...); },
                    futures);
}

// A range of awaitables (all of one type): results in a vector, in order.
template <class Range>
requires requires(Range& r) {
  std::begin(r);
  std::end(r);
}
auto gather(Range&& awaitables) {
  using F = decltype(detail::ensure_future(std::move(*std::begin(awaitables))));
  std::vector<F> futures;
  for (auto&& a : awaitables) futures.push_back(detail::ensure_future(std::move(a)));
  std::vector<std::shared_ptr<detail::FutureCore>> cores;
  for (auto& f : futures) cores.push_back(detail::core_ptr(f));
  detail::await_gathering(std::move(cores), false);
  std::vector<Value<typename detail::result_of<F>::type>> results;
  results.reserve(futures.size());
  for (auto& f : futures) results.push_back(detail::take_result(f));
  return results;
}

template <class Range>
auto gather(ReturnExceptions, Range&& awaitables) {
  using F = decltype(detail::ensure_future(std::move(*std::begin(awaitables))));
  std::vector<F> futures;
  for (auto&& a : awaitables) futures.push_back(detail::ensure_future(std::move(a)));
  std::vector<std::shared_ptr<detail::FutureCore>> cores;
  for (auto& f : futures) cores.push_back(detail::core_ptr(f));
  detail::await_gathering(std::move(cores), true);
  std::vector<Outcome<typename detail::result_of<F>::type>> results;
  results.reserve(futures.size());
  for (auto& f : futures) results.push_back(detail::take_outcome(f));
  return results;
}

}  // namespace weft
