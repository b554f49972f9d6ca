// gather(aws...): runs awaitables concurrently and returns their results in order
// (asyncio.gather). Coroutines are wrapped in tasks.
//
//   auto [a, b] = weft::gather(weft::coro(f, 1), task_b);        // a tuple, in argument order
//   std::vector<int> all = weft::gather(tasks);                   // a range gives a vector
//   auto outcomes = weft::gather(weft::return_exceptions, t1, t2); // Outcome<T>: value or error
//   auto [one] = weft::gather(weft::return_exceptions, weft::coro(f, 1));  // one: a 1-tuple
//
// gather_future(...) (below) is the same gather as a Future, as asyncio.gather returns it.
//
// The first exception propagates (the others keep running); with return_exceptions errors are
// results. A cancelled child counts as CancelledError and does not cancel the gather. Cancelling
// the task that awaits the gather cancels the children that are not done, and then the gather
// raises CancelledError whatever return_exceptions says.
#pragma once

#include <atomic>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
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

// A range (of tasks, futures or coroutines), as opposed to one awaitable.
template <class Range>
concept RangeOfAwaitables = requires(Range& r) {
  std::begin(r);
  std::end(r);
};

// The type-independent half of asyncio's _GatheringFuture (gather.cpp): the children, how many
// ended, whether the gather was cancelled, and what one child's end means for the gather.
class GatherProgress {
 public:
  GatherProgress(std::vector<Ref<FutureCore>> children, bool return_exceptions);
  // The await graph (asyncio 3.14's gather): the task that gathers is recorded as awaiting each
  // child not done yet, until the child ends. `held`: a gather_future keeps that task alive for
  // as long as a record may name it; the blocking gather() forgets them all before it returns.
  void record_awaiter(FutureCore* task, Ref<FutureCore> held) noexcept {
    awaiter_ = task;
    awaiter_held_ = std::move(held);
  }
  void note_awaited(FutureCore& child) {
    if (awaiter_ && !child.done()) child.add_awaited_by(*awaiter_);
  }
  void forget_awaiter() noexcept;
  const FutureCore* awaiter() const noexcept { return awaiter_; }
  struct Verdict {
    enum Kind { keep_waiting, fail, succeed } kind = keep_waiting;
    std::exception_ptr error;  // for fail
  };
  // Called once per child, from its done callback; `outer` is the gather.
  Verdict on_child_done(const FutureCore& outer, FutureCore& child);
  // The gather's cancel(): it cancelled the children; `any` if one of them accepted.
  void note_cancel(bool any) noexcept;
  const std::vector<Ref<FutureCore>>& children() const noexcept { return children_; }

 private:
  std::vector<Ref<FutureCore>> children_;
  FutureCore* awaiter_ = nullptr;  // set before any child's callback, then read only
  Ref<FutureCore> awaiter_held_;
  bool return_exceptions_;
  // Relaxed counters: the future's own lock orders its completion; these only count.
  std::atomic<std::size_t> finished_{0};
  std::atomic<bool> cancel_requested_{false};
};

// asyncio's _GatheringFuture: a Future of the results (Results: a tuple or a vector; void when
// the caller takes them from the children itself), finished by its children's done callbacks;
// cancelling it cancels the children.
template <class Results>
class GatheringFuture final : public ValueFuture<Results> {
 public:
  using Collect = std::function<Value<Results>()>;  // builds the results from the children
  GatheringFuture(std::shared_ptr<CallbackScheduler> scheduler,
                  std::vector<Ref<FutureCore>> children, bool return_exceptions, Collect collect)
      : ValueFuture<Results>(std::move(scheduler)),
        progress_(std::move(children), return_exceptions),
        collect_(std::move(collect)) {}

  // Attaches the done callbacks (they hold a reference: not in the constructor).
  void start() {
    if (progress_.children().empty()) {  // gather() of nothing: done at once
      succeed();
      return;
    }
    Ref<GatheringFuture> self(this);
    for (auto& child : progress_.children()) {
      progress_.note_awaited(*child);  // before the callback, which takes it back
      child->add_done_callback([self](FutureCore& done) { self->on_child_done(done); });
    }
  }
  GatherProgress& progress() noexcept { return progress_; }

 protected:
  FutureCore::CancelPlan begin_cancel(const std::string&) override {
    if (this->done()) return FutureCore::CancelPlan::answer(false);
    return FutureCore::CancelPlan::pass_on_to_each(progress_.children());  // then end_cancel
  }
  bool end_cancel(bool any_child_cancelled, const std::string&) override {
    progress_.note_cancel(any_child_cancelled);
    return any_child_cancelled;
  }

 private:
  void on_child_done(FutureCore& child) {
    if (progress_.awaiter()) child.discard_awaited_by(*progress_.awaiter());
    GatherProgress::Verdict verdict = progress_.on_child_done(*this, child);
    try {
      if (verdict.kind == GatherProgress::Verdict::fail) {
        this->set_exception(std::move(verdict.error));
      } else if (verdict.kind == GatherProgress::Verdict::succeed) {
        succeed();
      }
    } catch (const InvalidStateError&) {
      // Another child's callback, on another worker, settled the gather first.
    }
  }
  void succeed() {
    if constexpr (std::is_void_v<Results>) {
      this->finish([&] { this->value.emplace(); }, "set_result");
    } else {
      // Collected before the lock: a child's result() takes the child's lock, never ours.
      Value<Results> results = collect_();
      this->finish([&] { this->value.emplace(std::move(results)); }, "set_result");
    }
  }

  GatherProgress progress_;
  Collect collect_;
};

// The running runtime's callback scheduler (gather's outer future is bound to it).
std::shared_ptr<CallbackScheduler> gather_callback_scheduler();
// The task to record as the gather's awaiter (the current one, or null), held if `hold`.
Ref<FutureCore> gathering_task(bool hold, FutureCore*& task) noexcept;

// `blocking`: the caller awaits the gather before it returns (gather(), not gather_future()).
template <class Results>
Ref<GatheringFuture<Results>> start_gathering_core(
    std::vector<Ref<FutureCore>> children, bool return_exceptions,
    typename GatheringFuture<Results>::Collect collect, bool blocking) {
  auto outer = make_ref<GatheringFuture<Results>>(gather_callback_scheduler(), std::move(children),
                                                  return_exceptions, std::move(collect));
  FutureCore* task = nullptr;
  auto held = gathering_task(!blocking, task);
  outer->progress().record_awaiter(task, std::move(held));
  outer->start();
  return outer;
}
template <class Results>
Future<Results> start_gathering(std::vector<Ref<FutureCore>> children, bool return_exceptions,
                                typename GatheringFuture<Results>::Collect collect) {
  return Future<Results>(start_gathering_core<Results>(std::move(children), return_exceptions,
                                                       std::move(collect), false));
}

// Waits for all children under gather's rules. Throws what the gather raises.
void await_gathering(std::vector<Ref<FutureCore>> children, bool return_exceptions);

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
template <detail::RangeOfAwaitables Range>
auto gather(Range&& awaitables) {
  using F = decltype(detail::ensure_future(std::move(*std::begin(awaitables))));
  std::vector<F> futures;
  for (auto&& a : awaitables) futures.push_back(detail::ensure_future(std::move(a)));
  std::vector<detail::Ref<detail::FutureCore>> cores;
  for (auto& f : futures) cores.push_back(detail::core_ptr(f));
  detail::await_gathering(std::move(cores), false);
  std::vector<Value<typename detail::result_of<F>::type>> results;
  results.reserve(futures.size());
  for (auto& f : futures) results.push_back(detail::take_result(f));
  return results;
}

// (Constrained: gather(return_exceptions, one_awaitable) is the variadic form above, which a
// bare `class Range` would outrank as the more specialized template.)
template <detail::RangeOfAwaitables Range>
auto gather(ReturnExceptions, Range&& awaitables) {
  using F = decltype(detail::ensure_future(std::move(*std::begin(awaitables))));
  std::vector<F> futures;
  for (auto&& a : awaitables) futures.push_back(detail::ensure_future(std::move(a)));
  std::vector<detail::Ref<detail::FutureCore>> cores;
  for (auto& f : futures) cores.push_back(detail::core_ptr(f));
  detail::await_gathering(std::move(cores), true);
  std::vector<Outcome<typename detail::result_of<F>::type>> results;
  results.reserve(futures.size());
  for (auto& f : futures) results.push_back(detail::take_outcome(f));
  return results;
}

// ---- gather as a future (what asyncio.gather returns): hold it, pass it on, await it later,
// cancel it, inspect it. A Future of a tuple (in argument order) or of a vector (a range).
//
//   auto g = weft::gather_future(weft::coro(f, 1), task_b);   // Future<std::tuple<int, B>>
//   if (!g.done()) g.cancel("enough");                         // cancels the children
//   auto [a, b] = weft::await(g);
//
// As asyncio's: a child that fails (or is cancelled) finishes the gather with that exception
// -- done() and not cancelled(), even for CancelledError -- and so does cancelling the gather
// once its children end; shield(gather_future(...)) and gather_future(shield(...), ...) compose.
template <class... A>
requires(sizeof...(A) > 0 && (!std::is_same_v<std::decay_t<A>, ReturnExceptions> &&
                              ...)) auto gather_future(A&&... awaitables) {
  std::tuple futures{detail::ensure_future(std::forward<A>(awaitables))...};
  auto collect = [futures] {
    return std::apply([](auto&... f) { return std::make_tuple(detail::take_result(f)...); },
                      futures);
  };
  using Results = decltype(collect());
  return std::apply(
      [&](auto&... f) {
        return detail::start_gathering<Results>({detail::core_ptr(f)...}, false,
                                                std::move(collect));
      },
      futures);
}

template <class... A>
requires(sizeof...(A) > 0) auto gather_future(ReturnExceptions, A&&... awaitables) {
  std::tuple futures{detail::ensure_future(std::forward<A>(awaitables))...};
  auto collect = [futures] {
    return std::apply([](auto&... f) { return std::make_tuple(detail::take_outcome(f)...); },
                      futures);
  };
  using Results = decltype(collect());
  return std::apply(
      [&](auto&... f) {
        return detail::start_gathering<Results>({detail::core_ptr(f)...}, true, std::move(collect));
      },
      futures);
}

namespace detail {
// gather_future of a range: a Future of a vector of values, or of Outcomes.
template <bool WithExceptions, class Range>
auto gather_range_future(Range&& awaitables) {
  using F = decltype(detail::ensure_future(std::move(*std::begin(awaitables))));
  std::vector<F> futures;
  std::vector<Ref<FutureCore>> cores;
  for (auto&& a : awaitables) {
    futures.push_back(detail::ensure_future(std::move(a)));
    cores.push_back(core_ptr(futures.back()));
  }
  using R = typename result_of<F>::type;
  using Results = std::vector<std::conditional_t<WithExceptions, Outcome<R>, Value<R>>>;
  return start_gathering<Results>(std::move(cores), WithExceptions, [futures] {
    Results results;
    results.reserve(futures.size());
    for (auto& f : futures) {
      if constexpr (WithExceptions)
        results.push_back(take_outcome(f));
      else
        results.push_back(take_result(f));
    }
    return results;
  });
}
}  // namespace detail

template <detail::RangeOfAwaitables Range>
auto gather_future(Range&& awaitables) {
  return detail::gather_range_future<false>(std::forward<Range>(awaitables));
}

template <detail::RangeOfAwaitables Range>
auto gather_future(ReturnExceptions, Range&& awaitables) {
  return detail::gather_range_future<true>(std::forward<Range>(awaitables));
}

}  // namespace weft
