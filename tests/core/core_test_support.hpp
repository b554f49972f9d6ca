// Shared helpers for the core tests: a warning collector, a dummy awaitable and the sanitizer
// switches that let the heavy tests shrink under ASan/TSan.
#pragma once

#include <weft/core.hpp>

#include <any>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_TSAN 1
#endif
#endif

namespace weft_test {

#if defined(WEFT_TEST_ASAN)
inline constexpr bool kAsan = true;
#else
inline constexpr bool kAsan = false;
#endif
#if defined(WEFT_TEST_TSAN)
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
  std::vector<std::string> messages() const {
    std::vector<std::string> out;
    for (const auto& warning : all()) out.push_back(warning.message);
    return out;
  }
  void clear() {
    std::lock_guard lock(mutex_);
    warnings_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<weft::Warning> warnings_;
  weft::WarningHandler previous_;
};

// Python's minimal awaitable: `__await__` yields `label` to whoever drives the coroutine and
// returns what was sent back.
struct Dummy {
  std::any label;
  std::any await() { return weft::suspend(label); }
};

// The yielded value of a suspended step, as T.
template <class T, class Step>
T yielded_as(Step&& step) {
  return std::any_cast<T>(step.yielded());
}

}  // namespace weft_test
