// Internal: remove_done_callback(fn), asyncio's form. Future<T> and Task<R> register each done
// callback as a named wrapper type with the user's callable in its `fn`, not as a lambda, so that
// the callable can be found again among the future's callbacks.
#pragma once

#include <concepts>
#include <cstddef>
#include <type_traits>

#include "weft/detail/future_core.hpp"

namespace weft::detail {

// What remove_done_callback(fn) accepts: a callable that compares equal to itself (a function
// pointer, a functor with operator==); never an id, which has its own overload.
template <class F>
concept ComparableCallback = !std::is_integral_v<F> && std::equality_comparable<F>;

// Removes every callback registered as a `Wrapper` whose `fn` equals `fn`; returns how many.
template <class Wrapper, class F>
std::size_t remove_done_callbacks_equal_to(FutureCore& future, const F& fn) {
  return future.remove_done_callbacks_if([&fn](const FutureCore::Callback& callback) {
    auto* registered = callback.template target<Wrapper>();
    return registered != nullptr && registered->fn == fn;
  });
}

}  // namespace weft::detail
