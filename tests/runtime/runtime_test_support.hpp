// Shared helpers for the runtime tests: the deterministic run options, a thread-safe log, a
// warning collector, and the sanitizer switches that let the stress tests shrink under ASan/TSan.
#pragma once

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../support/test_support.hpp"

namespace weft_rt_test {

using weft_test_support::eventually;
using weft_test_support::kAsan;
using weft_test_support::kOptimized;
using weft_test_support::kSanitized;
using weft_test_support::kTsan;
using weft_test_support::Log;
using weft_test_support::WarningCapture;

// Full size in an optimized build, a tenth in Debug, a fiftieth under a sanitizer.
inline constexpr long scaled(long n) {
  if (kSanitized) return n / 50 > 0 ? n / 50 : 1;
  if (!kOptimized) return n / 10 > 0 ? n / 10 : 1;
  return n;
}

// One worker and virtual time: asyncio's exact FIFO order, and sleeps that finish at once.
inline weft::RunOptions deterministic() {
  return weft::RunOptions{.workers = 1, .virtual_time = true};
}

// The id of the thread running this code, re-read on every call. std::this_thread::get_id()
// calls pthread_self(), which glibc declares const: an optimizer may reuse one call's answer
// after an await, by which time the task may run on another worker (architecture.md §3).
__attribute__((noinline)) inline std::thread::id this_thread_id() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

}  // namespace weft_rt_test
