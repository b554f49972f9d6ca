// sleep(delay[, result]): suspends the running task for `delay` (asyncio.sleep). sleep(0) just
// lets the other ready tasks run first. Cancelling the task interrupts the sleep.
#pragma once

#include <chrono>

#include "weft/coroutine.hpp"
#include "weft/detail/runtime_access.hpp"

namespace weft {

namespace detail {
void sleep_for_ns(std::int64_t delay_ns);
}

template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> delay,
           SourceLocation where = SourceLocation::current()) {
  detail::Frame::record_await_site(where);
  detail::sleep_for_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(delay).count());
}
template <class Rep, class Period, class T>
T sleep(std::chrono::duration<Rep, Period> delay, T result,
        SourceLocation where = SourceLocation::current()) {
  sleep(delay, where);
  return result;
}
// Seconds, as asyncio counts them.
inline void sleep(double seconds, SourceLocation where = SourceLocation::current()) {
  detail::Frame::record_await_site(where);
  detail::sleep_for_ns(static_cast<std::int64_t>(seconds * 1e9));
}
template <class T>
T sleep(double seconds, T result, SourceLocation where = SourceLocation::current()) {
  sleep(seconds, where);
  return result;
}

}  // namespace weft
