// A mutex for short critical sections that may still call out (the sync primitives wake a task
// while they hold theirs): when nobody waits, one compare-and-swap to take it and one exchange
// to give it back, as cheap as a spin lock; a thread that finds it held spins a little, then
// sleeps in the kernel (std::atomic::wait, a futex on Linux) instead of burning its core while
// the holder is preempted. The three states are Drepper's ("Futexes Are Tricky"): unlock makes a
// system call only when someone may be asleep. std::mutex, uncontended, cost a lock and an
// unlock call of ~25 instructions each, a sixth of a Queue ping-pong's instructions.
#pragma once

#include <atomic>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace weft::detail {

class FutexLock {
 public:
  FutexLock() = default;
  FutexLock(const FutexLock&) = delete;
  FutexLock& operator=(const FutexLock&) = delete;

  void lock() noexcept {
    std::uint32_t expected = unlocked;
    // Acquire: what the previous holder wrote before its release is visible to us.
    if (state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
      return;
    }
    lock_contended();
  }

  bool try_lock() noexcept {
    std::uint32_t expected = unlocked;
    // Acquire: as lock().
    return state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }

  void unlock() noexcept {
    // Release: publishes what we wrote to the next holder. Only `contended` says that someone
    // may sleep: waking one is enough, as it takes the lock as contended again (see below).
    if (state_.exchange(unlocked, std::memory_order_release) == contended) state_.notify_one();
  }

 private:
  enum : std::uint32_t { unlocked, locked, contended };

  [[gnu::noinline]] void lock_contended() noexcept {
    // A short spin first: the holder is usually running and about to let go.
    for (int spins = 0; spins < 100; ++spins) {
      relax();
      // Relaxed look, then the CAS that orders (acquire), as in lock().
      std::uint32_t expected = unlocked;
      if (state_.load(std::memory_order_relaxed) == unlocked &&
          state_.compare_exchange_weak(expected, locked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return;
      }
    }
    // From here on we take it as `contended`, even if nobody else waits: the unlock that follows
    // then wakes one sleeper, which may be a needless wake-up but is never a lost one.
    // Acquire: as lock(), when the exchange finds it unlocked.
    while (state_.exchange(contended, std::memory_order_acquire) != unlocked) {
      state_.wait(contended, std::memory_order_relaxed);
    }
  }

  static void relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }

  std::atomic<std::uint32_t> state_{unlocked};
};

}  // namespace weft::detail
