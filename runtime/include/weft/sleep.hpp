// sleep(delay[, result]): suspends the running task for `delay` (asyncio.sleep). sleep(0) just
// lets the other ready tasks run first; a negative delay is 0, an infinite (or too large to
// count) one sleeps until cancelled, NaN is a ValueError. Cancelling the task interrupts it.
#pragma once

#include <chrono>

#include "weft/coroutine.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/time_ns.hpp"

namespace weft {

namespace detail {
void sleep_for_ns(std::int64_t delay_ns);
}

template <class Rep, class Period>
void sleep(std::chrono::duration<Rep, Period> delay,
           SourceLocation where = SourceLocation::current()) {
  detail::Frame::record_await_site(where);
  detail::sleep_for_ns(detail::duration_to_ns(delay, "sleep()"));
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
  detail::sleep_for_ns(detail::seconds_to_ns(seconds, "sleep()"));
}
template <class T>
T sleep(double seconds, T result, SourceLocation where = SourceLocation::current()) {
  sleep(seconds, where);
  return result;
}

}  // namespace weft
