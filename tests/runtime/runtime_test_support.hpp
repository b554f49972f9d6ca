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

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_RT_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_RT_TEST_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_RT_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define WEFT_RT_TEST_TSAN 1
#endif
#endif

namespace weft_rt_test {

#if defined(WEFT_RT_TEST_ASAN)
inline constexpr bool kAsan = true;
#else
inline constexpr bool kAsan = false;
#endif
#if defined(WEFT_RT_TEST_TSAN)
inline constexpr bool kTsan = true;
#else
inline constexpr bool kTsan = false;
#endif
inline constexpr bool kSanitized = kAsan || kTsan;
#if defined(NDEBUG)
inline constexpr bool kOptimized = true;
#else
inline constexpr bool kOptimized = false;
#endif

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

// An append-only log that any thread may write.
class Log {
 public:
  void add(std::string entry) {
    std::lock_guard lock(mutex_);
    entries_.push_back(std::move(entry));
  }
  std::vector<std::string> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> entries_;
};

// Installs a handler that records every weft warning for its lifetime, then puts back the
// handler that was there before.
class WarningCapture {
 public:
  WarningCapture()
      : previous_(weft::set_warning_handler([this](const weft::Warning& warning) {
          std::lock_guard lock(mutex_);
          warnings_.push_back(warning);
        })) {}
  WarningCapture(const WarningCapture&) = delete;
  WarningCapture& operator=(const WarningCapture&) = delete;
  ~WarningCapture() { weft::set_warning_handler(std::move(previous_)); }

  std::vector<weft::Warning> all() const {
    std::lock_guard lock(mutex_);
    return warnings_;
  }
  // The warnings of one category ("ERROR", "RuntimeWarning", ...).
  std::vector<weft::Warning> of(const std::string& category) const {
    std::vector<weft::Warning> out;
    for (auto& warning : all()) {
      if (warning.category == category) out.push_back(warning);
    }
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<weft::Warning> warnings_;
  weft::WarningHandler previous_;
};

// The id of the thread running this code, re-read on every call. std::this_thread::get_id()
// calls pthread_self(), which glibc declares const: an optimizer may reuse one call's answer
// after an await, by which time the task may run on another worker (DESIGN.md, mechanism 6).
__attribute__((noinline)) inline std::thread::id this_thread_id() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

// Waits (from a thread that is not a worker) until `condition` holds or `limit` passes;
// returns whether it held. For tests that must not hang when the runtime misbehaves.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace weft_rt_test
