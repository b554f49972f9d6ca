// Lock: FIFO hand-over, cancellation safety (a cancelled waiter never keeps the lock nor
// swallows the wake-up meant for the next), no barging past a woken waiter, the error messages,
// the C++ Lockable names; and mutual exclusion under stress on 2-8 workers.
// The one-worker scenarios print what tests/asyncio/sync/cpython/lock_scenarios.py prints.
#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using weft_sync_test::deterministic;
using weft_sync_test::outcome;
using weft_sync_test::repr_state;
using Log = std::vector<std::string>;

TEST(Lock, WaitersGetTheLockInFifoOrder) {
  Log log;
  weft::run(
      [&] {
        weft::Lock lock;
        auto worker = [&](std::string name) {
          weft::LockGuard guard(lock);
          log.push_back(name + " in");
          weft::sleep(0.1);
          log.push_back(name + " out");
        };
        lock.acquire();
        std::vector<weft::Task<void>> tasks;
        for (const char* name : {"a", "b", "c", "d"}) {
          tasks.push_back(weft::create_task(weft::coro(worker, std::string(name))));
        }
        weft::sleep(0);
        log.push_back(std::string("waiters queued locked=") + (lock.locked() ? "True" : "False"));
        lock.release();
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"waiters queued locked=True", "a in", "a out", "b in", "b out", "c in",
                      "c out", "d in", "d out"}));
}

TEST(Lock, AWaiterCancelledAfterReleasePassesTheLockOn) {
  Log log;
  bool locked_at_end = true;
  weft::run(
      [&] {
        weft::Lock lock;
        auto worker = [&](std::string name) {
          try {
            lock.acquire();
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
          log.push_back(name + " got it");
          lock.release();
        };
        lock.acquire();
        auto a = weft::create_task(weft::coro(worker, std::string("a")));
        auto b = weft::create_task(weft::coro(worker, std::string("b")));
        weft::sleep(0);
        lock.release();  // wakes a...
        a.cancel();      // ...which is cancelled before it runs: b must get the lock
        EXPECT_EQ(outcome(a), "cancelled");
        EXPECT_EQ(outcome(b), "ok");
        locked_at_end = lock.locked();
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a cancelled", "b got it"}));
  EXPECT_FALSE(locked_at_end);
}

TEST(Lock, AWaiterCancelledWhileWaitingIsSkipped) {
  Log log;
  weft::run(
      [&] {
        weft::Lock lock;
        auto worker = [&](std::string name) {
          try {
            weft::LockGuard guard(lock);
            log.push_back(name + " got it");
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
        };
        lock.acquire();
        std::vector<weft::Task<void>> tasks;
        for (const char* name : {"a", "b", "c"}) {
          tasks.push_back(weft::create_task(weft::coro(worker, std::string(name))));
        }
        weft::sleep(0);
        tasks[1].cancel();
        weft::sleep(0);
        log.push_back(repr_state(lock.repr()));
        lock.release();
        for (auto& t : tasks) outcome(t);
      },
      deterministic());
  EXPECT_EQ(log, (Log{"b cancelled", "locked, waiters:2]>", "a got it", "c got it"}));
}

TEST(Lock, ANewcomerQueuesBehindAWokenWaiter) {
  Log log;
  weft::run(
      [&] {
        weft::Lock lock;
        lock.acquire();
        auto a = weft::create_task([&] {
          weft::LockGuard guard(lock);
          log.push_back("a got it");
        });
        weft::sleep(0);
        lock.release();  // wakes a, which has not run yet...
        EXPECT_FALSE(lock.try_lock());
        lock.acquire();  // ...so this queues behind it
        log.push_back("main got it");
        lock.release();
        EXPECT_EQ(outcome(a), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a got it", "main got it"}));
}

TEST(Lock, ReleasingAnUnlockedLockRaisesRuntimeError) {
  weft::Lock lock;
  try {
    lock.release();
    FAIL() << "release() of an unlocked lock returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "Lock is not acquired.");
  }
  EXPECT_TRUE(lock.acquire());  // free and uncontended: no task needed
  EXPECT_TRUE(lock.locked());
  lock.release();
  EXPECT_FALSE(lock.locked());
}

TEST(Lock, ContendedAcquireOutsideATaskRaisesAndLeavesNoWaiter) {
  weft::Lock lock;
  lock.acquire();
  EXPECT_THROW(lock.acquire(), weft::RuntimeError);
  EXPECT_EQ(repr_state(lock.repr()), "locked]>");
  lock.release();
}

TEST(Lock, ReprShowsStateAndWaiters) {
  weft::run(
      [] {
        weft::Lock lock;
        EXPECT_EQ(repr_state(lock.repr()), "unlocked]>");
        EXPECT_EQ(lock.repr().rfind("<weft::Lock at 0x", 0), 0u) << lock.repr();
        lock.acquire();
        auto t = weft::create_task([&] { weft::LockGuard guard(lock); });
        weft::sleep(0);
        EXPECT_EQ(repr_state(lock.repr()), "locked, waiters:1]>");
        lock.release();
        EXPECT_EQ(outcome(t), "ok");
      },
      deterministic());
}

TEST(Lock, StdUniqueLockAndTryLockWork) {
  Log log;
  weft::run(
      [&] {
        weft::Lock lock;
        auto t = weft::create_task([&] {
          std::unique_lock<weft::Lock> held(lock);
          log.push_back("task holds");
          weft::sleep(1.0);
          log.push_back("task releases");
        });
        weft::sleep(0);
        {
          std::unique_lock<weft::Lock> attempt(lock, std::try_to_lock);
          EXPECT_FALSE(attempt.owns_lock());
        }
        {
          std::unique_lock<weft::Lock> held(lock);  // suspends this task until t releases
          log.push_back("main holds");
        }
        EXPECT_FALSE(lock.locked());
        EXPECT_EQ(outcome(t), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"task holds", "task releases", "main holds"}));
}

// ---- stress: 2-8 workers

class LockStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(LockStress, OnlyOneTaskIsEverInside) {
  const int tasks = static_cast<int>(weft_sync_test::scaled(2000));
  const int rounds = 10;
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<long> entries{0};
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::Lock lock;
    std::vector<weft::Task<void>> all;
    for (int i = 0; i < tasks; ++i) {
      all.push_back(weft::create_task([&, i] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(i));
        for (int r = 0; r < rounds; ++r) {
          weft::LockGuard guard(lock);
          weft_sync_test::Inside here(inside);
          if (here.before() != 0) overlaps.fetch_add(1);  // any overlap at all is the failure
          dice.pause();
          entries.fetch_add(1);
        }
      }));
    }
    for (auto& t : all) weft::await(t);
    EXPECT_FALSE(lock.locked());
  });
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(entries.load(), static_cast<long>(tasks) * rounds);
}

TEST_P(LockStress, CancelledWaitersNeverStrandTheLock) {
  // Half the tasks are cancelled at random moments, some right after a release woke them. If a
  // cancelled waiter swallowed its wake-up, the others would wait forever (the test would hang)
  // and the lock would stay locked.
  const int tasks = static_cast<int>(weft_sync_test::scaled(2000));
  std::atomic<int> inside{0};
  std::atomic<int> overlaps{0};
  std::atomic<int> finished{0};
  std::atomic<int> cancelled{0};
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::Lock lock;
    std::vector<weft::Task<void>> all;
    for (int i = 0; i < tasks; ++i) {
      all.push_back(weft::create_task([&, i] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(i) * 7919u);
        for (int r = 0; r < 5; ++r) {
          weft::LockGuard guard(lock);
          weft_sync_test::Inside here(inside);
          if (here.before() != 0) overlaps.fetch_add(1);
          dice.pause();  // may raise CancelledError: the guards release on the way out
        }
      }));
    }
    weft_sync_test::Dice dice(12345);
    for (int i = 0; i < tasks; i += 2) {
      dice.pause();
      all[static_cast<std::size_t>(dice.below(static_cast<unsigned>(tasks)))].cancel();
    }
    for (auto& t : all) {
      std::string how = outcome(t);
      if (how == "cancelled") {
        cancelled.fetch_add(1);
      } else {
        EXPECT_EQ(how, "ok");
        finished.fetch_add(1);
      }
    }
    EXPECT_FALSE(lock.locked());
    EXPECT_TRUE(lock.try_lock());  // nobody is stuck in line
    lock.release();
  });
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(finished.load() + cancelled.load(), tasks);
}

INSTANTIATE_TEST_SUITE_P(Workers, LockStress,
                         ::testing::ValuesIn(weft_sync_test::stress_workers()));

}  // namespace
