// Internal: asyncio's delays and deadlines are float seconds; the runtime's clock counts int64
// nanoseconds. Every conversion goes through seconds_to_ns, which saturates: a value too far to
// represent (inf, 1e300, even 1e10 s) means "never", never a wrapped, negative deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>

#include <time.h>

namespace weft::detail {

// "Never": no timer is set (a sleep lasts until cancelled, a timeout does not fire).
inline constexpr std::int64_t kNeverNs = std::numeric_limits<std::int64_t>::max();
// Deadlines at or beyond this (~146 years) are never, so that adding the monotonic clock's
// origin to any deadline the runtime keeps cannot overflow.
inline constexpr std::int64_t kFarNs = kNeverNs / 2;

// CLOCK_MONOTONIC now, in nanoseconds: the clock of every real-time deadline in weft (the
// runtime's clock is this minus its start; blocking waits and futex deadlines use it as is).
inline std::int64_t monotonic_now_ns() noexcept {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<std::int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Seconds to nanoseconds: <= 0 (and -inf) gives 0, at once; +inf or kFarNs and beyond gives
// kNeverNs; NaN is a ValueError naming `api` ("Invalid delay: NaN (not a number)", as asyncio).
std::int64_t seconds_to_ns(double seconds, const char* api);

template <class Rep, class Period>
std::int64_t duration_to_ns(std::chrono::duration<Rep, Period> d, const char* api) {
  return seconds_to_ns(std::chrono::duration<double>(d).count(), api);
}

// now + delay, where a sum at or beyond kFarNs is never.
inline std::int64_t deadline_after(std::int64_t now_ns, std::int64_t delay_ns) noexcept {
  if (delay_ns >= kFarNs || now_ns >= kFarNs - delay_ns) return kNeverNs;
  return now_ns + delay_ns;
}

}  // namespace weft::detail
