// staggered_race(coro_fns, delay): runs coroutine functions with staggered starts and takes the
// first to succeed (asyncio.staggered.staggered_race, what happy eyeballs connects with). The
// first starts at once; each next one when the one before it failed, or `delay` seconds after
// that one started (nullopt: only once it failed). The first success wins and every other
// attempt still running is cancelled.
//
//   std::vector<std::function<weft::Coroutine<Conn>()>> attempts{...};
//   auto [winner, index, exceptions] = weft::staggered_race(attempts, 0.25);
//   if (index) use(*winner);  // else every attempt failed, and exceptions says how
//
// As asyncio's (winner_result, winner_index, exceptions): exceptions has one entry per attempt
// that started, in order, the winner's null. A coroutine function is a callable returning a
// Coroutine (a weft::coro, a CoroutineFunction), or a plain callable whose body is the attempt;
// each is called only when its turn comes. Cancelling the calling task cancels every attempt
// still running (again at each further cancellation), waits for them all to end, and then raises
// the CancelledError.
//
// On several workers two attempts can succeed at the same moment, before the winner's
// cancellation reaches the other: the first to finish wins, and the other's result is destroyed
// and its entry is a CancelledError -- what the cancellation would have made of it on one thread.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <vector>

#include "weft/detail/awaitables.hpp"

namespace weft {

template <class R>
struct StaggeredResult {
  std::optional<Value<R>> winner_result;    // nullopt: no attempt succeeded
  std::optional<std::size_t> winner_index;  // index into coro_fns
  std::vector<std::exception_ptr> exceptions;
};

namespace detail {
struct StaggeredOutcome {
  std::optional<std::size_t> winner_index;
  std::vector<std::exception_ptr> exceptions;
};
// The race (staggered.cpp): attempt(i) runs attempt i to its end in the calling task, returning
// if it succeeded (its result kept by the caller) and throwing what it raised otherwise.
StaggeredOutcome run_staggered_race(std::size_t count, std::function<void(std::size_t)> attempt,
                                    std::optional<double> delay);

// What an attempt gives: the result of the coroutine fn() returns, or fn()'s own result.
template <class Made, bool = CoroutineObject<Made>>
struct made_result {
  using type = Made;
};
template <class Made>
struct made_result<Made, true> {
  using type = typename std::decay_t<Made>::result_type;
};
template <class Fn>
using attempt_result_t = typename made_result<std::invoke_result_t<Fn&>>::type;

template <class Fn>
auto run_attempt(Fn& fn) {
  using R = attempt_result_t<Fn>;
  if constexpr (CoroutineObject<std::invoke_result_t<Fn&>>) {
    return await(Coroutine<R>(fn()));
  } else {
    return fn();
  }
}
}  // namespace detail

// `where` is the call's site, which Task::get_stack reports while the task waits here.
template <class Range>
requires requires(Range& r) {
  std::begin(r);
  std::end(r);
}
auto staggered_race(Range&& coro_fns, std::optional<double> delay,
                    SourceLocation where = SourceLocation::current()) {
  using Fn = std::decay_t<decltype(*std::begin(coro_fns))>;
  using R = detail::attempt_result_t<Fn>;
  struct Attempts {
    std::vector<Fn> fns;                           // attempt i calls fns[i], on its own task
    std::vector<std::optional<Value<R>>> results;  // attempt i writes results[i] only
  };
  auto attempts = std::make_shared<Attempts>();
  for (auto&& fn : coro_fns) {
    if constexpr (std::is_lvalue_reference_v<Range>)
      attempts->fns.push_back(fn);
    else
      attempts->fns.push_back(std::move(fn));
  }
  attempts->results.resize(attempts->fns.size());
  detail::Frame::record_await_site(where);
  detail::StaggeredOutcome outcome = detail::run_staggered_race(
      attempts->fns.size(),
      [attempts](std::size_t i) {
        if constexpr (std::is_void_v<R>) {
          detail::run_attempt(attempts->fns[i]);
          attempts->results[i].emplace();
        } else {
          attempts->results[i].emplace(detail::run_attempt(attempts->fns[i]));
        }
      },
      delay);
  // Every attempt has ended: the results are ours to take.
  StaggeredResult<R> result;
  result.winner_index = outcome.winner_index;
  result.exceptions = std::move(outcome.exceptions);
  if (outcome.winner_index)
    result.winner_result = std::move(attempts->results[*outcome.winner_index]);
  return result;
}

}  // namespace weft
