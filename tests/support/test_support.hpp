// What every test folder needs: the build switches that let heavy tests shrink under the
// sanitizers and in Debug, a collector of weft's warnings, a log any thread may write, and a
// bounded wait for foreign threads. Each folder's own *_test_support.hpp adds its specifics.
#pragma once

#include <weft/warnings.hpp>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_SUPPORT_ASAN 1
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_SUPPORT_TSAN 1
#endif
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_SUPPORT_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_SUPPORT_TSAN 1
#endif
#endif

namespace weft_test_support {

#if defined(WEFT_TEST_SUPPORT_ASAN)
inline constexpr bool kAsan = true;
#else
inline constexpr bool kAsan = false;
#endif
#if defined(WEFT_TEST_SUPPORT_TSAN)
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
  // The warnings of one category ("ERROR", "RuntimeWarning", ...).
  std::vector<weft::Warning> of(const std::string& category) const {
    std::vector<weft::Warning> out;
    for (auto& warning : all()) {
      if (warning.category == category) out.push_back(warning);
    }
    return out;
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

}  // namespace weft_test_support
