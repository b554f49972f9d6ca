// wait_for(aw, timeout): waits for `aw` (a coroutine, task or future) for at most `timeout`
// seconds (asyncio.wait_for). On timeout the awaitable is cancelled, wait_for waits until it
// really is, and raises TimeoutError; an exception raised during that cancellation propagates
// instead. Cancelling the waiting task cancels the awaitable. nullopt waits forever.
#pragma once

#include <optional>

#include "weft/detail/awaitables.hpp"
#include "weft/timeout.hpp"

namespace weft {

// `where` is the call's site, which Task::get_stack reports while the task waits here.
template <class A, class D = double>
auto wait_for(A&& awaitable, std::optional<D> timeout_delay,
              SourceLocation where = SourceLocation::current()) {
  // Both paths give what awaiting `awaitable` gives: void for a coroutine of void, but
  // Value<void> (std::monostate) for a Task<void> or Future<void>.
  using Out = decltype(await(std::forward<A>(awaitable)));
  if (timeout_delay && detail::seconds_of(*timeout_delay) <= 0) {
    detail::Frame::record_await_site(where);
    // asyncio 3.12+: a done future's result as is; otherwise cancelled at once and waited for.
    auto future = detail::ensure_future_cancelled(std::forward<A>(awaitable));
    detail::wait_until_done(future.core());
    try {
      if constexpr (std::is_void_v<Out>) {
        future.result();
        return;
      } else {
        return Out(detail::take_awaited(future));
      }
    } catch (const CancelledError&) {
      std::throw_with_nested(TimeoutError());  // asyncio: raise TimeoutError from exc
    }
  }
  return timeout(timeout_delay, [&]() -> Out { return await(std::forward<A>(awaitable), where); });
}

template <class A, class D>
requires(!std::is_same_v<std::decay_t<D>, std::nullopt_t>) auto wait_for(
    A&& awaitable, D timeout_delay, SourceLocation where = SourceLocation::current()) {
  return wait_for(std::forward<A>(awaitable), std::optional<D>(timeout_delay), where);
}

template <class A>
auto wait_for(A&& awaitable, std::nullopt_t, SourceLocation where = SourceLocation::current()) {
  return await(std::forward<A>(awaitable), where);
}

}  // namespace weft
