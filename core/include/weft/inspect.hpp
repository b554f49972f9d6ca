// iscoroutine / iscoroutinefunction (asyncio.iscoroutine, inspect.iscoroutinefunction), at
// compile time (the _v traits) and as functions.
#pragma once

#include <type_traits>

#include "weft/coroutine.hpp"

namespace weft {

template <class T>
struct is_coroutine : std::false_type {};
template <class R>
struct is_coroutine<Coroutine<R>> : std::true_type {};
template <class F, class... A>
struct is_coroutine<coro<F, A...>> : std::true_type {};
template <class T>
inline constexpr bool is_coroutine_v = is_coroutine<std::remove_cvref_t<T>>::value;

template <class T>
struct is_coroutine_function : std::false_type {};
template <class F>
struct is_coroutine_function<CoroutineFunction<F>> : std::true_type {};
template <class T>
inline constexpr bool is_coroutine_function_v =
    is_coroutine_function<std::remove_cvref_t<T>>::value;

template <class T>
constexpr bool iscoroutine(const T&) noexcept {
  return is_coroutine_v<T>;
}
template <class T>
constexpr bool iscoroutinefunction(const T&) noexcept {
  return is_coroutine_function_v<T>;
}

}  // namespace weft
