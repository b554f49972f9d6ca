// A test-and-test-and-set lock for data held a few instructions at a time and almost never
// contended: one atomic exchange to take, one store to give back. Never held across a call out.
#pragma once

#include <atomic>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace weft::detail {

class SpinLock {
 public:
  void lock() noexcept {
    // Acquire: what the previous holder wrote before its release is visible to us.
    while (held_.exchange(true, std::memory_order_acquire)) {
      // Relaxed: only a hint when to retry the exchange, which is what orders.
      for (int spins = 0; held_.load(std::memory_order_relaxed); ++spins) {
        if (spins < 64) {
          relax();
        } else {
          std::this_thread::yield();
        }
      }
    }
  }
  bool try_lock() noexcept {
    // Relaxed pre-check: a held lock is left alone without dirtying its line.
    return !held_.load(std::memory_order_relaxed) &&
           !held_.exchange(true, std::memory_order_acquire);
  }
  // Release: publishes what we wrote while holding it.
  void unlock() noexcept { held_.store(false, std::memory_order_release); }

 private:
  static void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }
  std::atomic<bool> held_{false};
};

}  // namespace weft::detail
