// FutexLock, the sync primitives' mutex: mutual exclusion under contention from many threads,
// holders that are slow (so waiters reach the futex sleep, not just the spin), and no lost
// wake-up (every thread ends). TSan sees its acquire / release pairs, so a missing order is a
// reported race on the plain counters below.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "../core_test_support.hpp"
#include "weft/detail/futex_lock.hpp"

namespace {

using weft::detail::FutexLock;
using weft_test_support::kSanitized;

TEST(FutexLock, ManyThreadsIncrementAPlainCounterWithoutLosingOne) {
  const int threads = 8;
  const long rounds = kSanitized ? 20'000 : 200'000;
  FutexLock lock;
  long counter = 0;  // guarded by lock: a plain variable, so a lapse is a lost increment
  int inside = 0;    // guarded by lock: never more than one holder
  bool overlapped = false;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (long i = 0; i < rounds; ++i) {
        std::lock_guard hold(lock);
        if (++inside != 1) overlapped = true;
        ++counter;
        --inside;
      }
    });
  }
  for (auto& thread : pool) thread.join();
  EXPECT_FALSE(overlapped);
  EXPECT_EQ(counter, threads * rounds);
}

TEST(FutexLock, WaitersThatSleepAreWokenByEachUnlock) {
  // Holders keep it for a while, so the others go past the spin into the futex wait; each
  // unlock of a contended lock must wake one of them, or a thread never ends (ctest's timeout).
  const int threads = 6;
  const int rounds = kSanitized ? 50 : 200;
  FutexLock lock;
  long counter = 0;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        std::lock_guard hold(lock);
        ++counter;
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
  }
  for (auto& thread : pool) thread.join();
  EXPECT_EQ(counter, long{threads} * rounds);
}

TEST(FutexLock, TryLockFailsWhileHeldAndSucceedsOnceFree) {
  FutexLock lock;
  ASSERT_TRUE(lock.try_lock());
  std::atomic<bool> taken{true};
  std::thread other([&] { taken = lock.try_lock(); });
  other.join();
  EXPECT_FALSE(taken.load());
  lock.unlock();
  EXPECT_TRUE(lock.try_lock());
  lock.unlock();
}

}  // namespace
