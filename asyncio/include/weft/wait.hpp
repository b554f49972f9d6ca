// wait(aws, timeout, return_when): waits for tasks/futures until the condition holds and
// returns (done, pending) sets (asyncio.wait). Never cancels anything, not even on timeout.
//
//   auto [done, pending] = weft::wait(tasks, 1.0, weft::FIRST_COMPLETED);
//   if (done.contains(task)) ...
#pragma once

#include <functional>
#include <optional>
#include <unordered_set>
#include <vector>

#include "weft/detail/awaitables.hpp"
#include "weft/runtime.hpp"

namespace weft {

enum class ReturnWhen { FIRST_COMPLETED, FIRST_EXCEPTION, ALL_COMPLETED };
inline constexpr ReturnWhen FIRST_COMPLETED = ReturnWhen::FIRST_COMPLETED;
inline constexpr ReturnWhen FIRST_EXCEPTION = ReturnWhen::FIRST_EXCEPTION;
inline constexpr ReturnWhen ALL_COMPLETED = ReturnWhen::ALL_COMPLETED;

}  // namespace weft

template <class R>
struct std::hash<weft::Task<R>> {
  std::size_t operator()(const weft::Task<R>& t) const noexcept {
    return std::hash<const void*>{}(t.state().get());
  }
};
template <class R>
struct std::hash<weft::Future<R>> {
  std::size_t operator()(const weft::Future<R>& f) const noexcept {
    return std::hash<const void*>{}(&f.core());
  }
};

namespace weft {

template <class F>
struct WaitResult {
  std::unordered_set<F> done;
  std::unordered_set<F> pending;
};

namespace detail {
// Suspends until `return_when` holds for `futures` or the timeout passes.
void wait_until(const std::vector<Ref<FutureCore>>& futures, std::optional<double> timeout,
                ReturnWhen return_when);
}  // namespace detail

// `where` is the call's site, which Task::get_stack reports while the task waits here.
template <class Range>
auto wait(Range&& futures, std::optional<double> timeout = std::nullopt,
          ReturnWhen return_when = ALL_COMPLETED,
          SourceLocation where = SourceLocation::current()) {
  using F = std::decay_t<decltype(*std::begin(futures))>;
  static_assert(detail::is_task<F>::value || detail::is_future<F>::value,
                "Passing coroutines is forbidden, use tasks explicitly.");
  std::vector<F> unique;
  std::vector<detail::Ref<detail::FutureCore>> cores;
  for (const F& f : futures) {
    auto core = detail::core_ptr(f);
    if (std::find(cores.begin(), cores.end(), core) != cores.end()) continue;  // a set
    unique.push_back(f);
    cores.push_back(std::move(core));
  }
  if (cores.empty()) throw ValueError("Set of Tasks/Futures is empty.");
  detail::Frame::record_await_site(where);
  detail::wait_until(cores, timeout, return_when);
  WaitResult<F> result;
  for (F& f : unique) (f.done() ? result.done : result.pending).insert(f);
  return result;
}

}  // namespace weft
