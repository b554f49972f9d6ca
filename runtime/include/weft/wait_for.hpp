// wait_for(aw, timeout): waits for `aw` (a coroutine, task or future) for at most `timeout`
// seconds (asyncio.wait_for). On timeout the awaitable is cancelled, wait_for waits until it
// really is, and raises TimeoutError; an exception raised during that cancellation propagates
// instead. Cancelling the waiting task cancels the awaitable. nullopt waits forever.
#pragma once

#include <optional>

#include "weft/detail/awaitables.hpp"
#include "weft/timeout.hpp"

namespace weft {

template <class A, class D = double>
auto wait_for(A&& awaitable, std::optional<D> timeout_delay) {
  if (timeout_delay && detail::seconds_of(*timeout_delay) <= 0) {
    auto future = detail::ensure_future(std::forward<A>(awaitable));
    if (!future.done()) detail::cancel_and_wait(future.core());
    using R = typename detail::result_of<decltype(future)>::type;
    try {
      if constexpr (std::is_void_v<R>) {
        future.result();
        return;
      } else {
        return R(future.result());
      }
    } catch (const CancelledError&) {
      throw TimeoutError();
    }
  }
  return timeout(timeout_delay, [&] { return await(std::forward<A>(awaitable)); });
}

template <class A, class D>
requires(!std::is_same_v<std::decay_t<D>, std::nullopt_t>) auto wait_for(A&& awaitable,
                                                                         D timeout_delay) {
  return wait_for(std::forward<A>(awaitable), std::optional<D>(timeout_delay));
}

template <class A>
auto wait_for(A&& awaitable, std::nullopt_t) {
  return await(std::forward<A>(awaitable));
}

}  // namespace weft
