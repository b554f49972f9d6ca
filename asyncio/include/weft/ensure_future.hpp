// ensure_future(aw): asyncio.ensure_future -- a Task or Future passes through as it is; a
// coroutine (or a callable, made into one) becomes a new task on the running runtime.
//
//   auto t = weft::ensure_future(weft::coro(fetch, 7));   // a Task<int>, scheduled
//   auto same = weft::ensure_future(t);                    // t itself
//   auto on = weft::ensure_future(weft::coro(fetch, 8), rt);  // asyncio's loop= argument
//
// With a runtime given, a task or future of another runtime is a ValueError (asyncio's), and a
// coroutine's task is made on that runtime -- from any thread.
#pragma once

#include <type_traits>
#include <utility>

#include "weft/detail/awaitables.hpp"
#include "weft/errors.hpp"
#include "weft/runtime.hpp"

namespace weft {

// `where`: a new task's creation site in debug mode (see create_task).
template <class A>
auto ensure_future(A&& awaitable, SourceLocation where = SourceLocation::current()) {
  using D = std::decay_t<A>;
  if constexpr (detail::is_task<D>::value || detail::is_future<D>::value) {
    return D(awaitable);
  } else {
    return create_task(std::forward<A>(awaitable), where);
  }
}

template <class A>
auto ensure_future(A&& awaitable, Runtime& loop, SourceLocation where = SourceLocation::current()) {
  using D = std::decay_t<A>;
  if constexpr (detail::is_task<D>::value || detail::is_future<D>::value) {
    if (&awaitable.get_loop() != &loop) {
      throw ValueError(
          "The future belongs to a different loop than the one specified as the loop argument: "
          "pass the runtime it was made in, or none");
    }
    return D(awaitable);
  } else {
    auto coroutine = detail::as_coroutine(std::forward<A>(awaitable));
    // From inside that runtime, as create_task; from elsewhere, submitted from outside.
    const bool inside = detail::running_scheduler_or_null() == &loop.scheduler();
    return detail::make_task(loop.scheduler(), std::move(coroutine), {}, !inside, false,
                             std::nullopt, nullptr, where);
  }
}

}  // namespace weft
