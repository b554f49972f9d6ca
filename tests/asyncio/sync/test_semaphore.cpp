// Semaphore / BoundedSemaphore: at most `value` tasks inside, FIFO order, a newcomer queues
// behind a woken waiter, a permit handed to a cancelled waiter passes on, the error messages;
// and the limit and permit accounting under stress on 2-8 workers.
// The one-worker scenarios print what tests/asyncio/sync/cpython/semaphore_scenarios.py prints.
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

TEST(Semaphore, AtMostValueTasksInsideServedInFifoOrder) {
  Log log;
  weft::run(
      [&] {
        weft::Semaphore sem(2);
        auto worker = [&](std::string name, double hold) {
          weft::LockGuard guard(sem);
          log.push_back(name + " in");
          weft::sleep(hold);
          log.push_back(name + " out");
        };
        std::vector<weft::Task<void>> tasks;
        const std::vector<std::pair<const char*, double>> plan = {
            {"a", 3.5}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}};
        for (auto [name, hold] : plan) {
          tasks.push_back(weft::create_task(weft::coro(worker, std::string(name), hold)));
        }
        weft::sleep(0);
        log.push_back(repr_state(sem.repr()));
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
        log.push_back(repr_state(sem.repr()));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a in", "b in", "locked, waiters:3]>", "b out", "c in", "c out", "d in",
                      "d out", "e in", "a out", "e out", "unlocked, value:2]>"}));
}

TEST(Semaphore, APermitHandedToACancelledWaiterPassesOn) {
  Log log;
  weft::run(
      [&] {
        weft::Semaphore sem(0);
        auto worker = [&](std::string name) {
          try {
            sem.acquire();
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
          log.push_back(name + " got a permit");
        };
        auto a = weft::create_task(weft::coro(worker, std::string("a")));
        auto b = weft::create_task(weft::coro(worker, std::string("b")));
        weft::sleep(0);
        sem.release();  // the permit goes to a...
        a.cancel();     // ...which is cancelled before it runs: b must get it
        EXPECT_EQ(outcome(a), "cancelled");
        EXPECT_EQ(outcome(b), "ok");
        log.push_back("value=" + std::to_string(sem.value()) +
                      " locked=" + (sem.locked() ? "True" : "False"));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a cancelled", "b got a permit", "value=0 locked=True"}));
}

TEST(Semaphore, ANewcomerQueuesBehindAWokenWaiter) {
  Log log;
  weft::run(
      [&] {
        weft::Semaphore sem(1);
        auto worker = [&](std::string name) {
          weft::LockGuard guard(sem);
          log.push_back(name + " in");
          weft::sleep(0);
          log.push_back(name + " out");
        };
        sem.acquire();
        auto a = weft::create_task(weft::coro(worker, std::string("a")));
        weft::sleep(0);
        sem.release();  // a is woken and the permit is taken for it
        log.push_back(std::string("locked after release: ") + (sem.locked() ? "True" : "False"));
        auto b = weft::create_task(weft::coro(worker, std::string("b")));
        EXPECT_EQ(outcome(a), "ok");
        EXPECT_EQ(outcome(b), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"locked after release: True", "a in", "a out", "b in", "b out"}));
}

TEST(Semaphore, ANegativeInitialValueRaisesValueError) {
  try {
    weft::Semaphore sem(-1);
    FAIL() << "Semaphore(-1) was made";
  } catch (const weft::ValueError& e) {
    EXPECT_STREQ(e.what(), "Semaphore initial value must be >= 0");
  }
}

TEST(Semaphore, BoundedSemaphoreReleasedTooOftenRaisesValueError) {
  weft::BoundedSemaphore sem(2);
  sem.acquire();
  sem.release();
  try {
    sem.release();
    FAIL() << "a third release() of BoundedSemaphore(2) returned";
  } catch (const weft::ValueError& e) {
    EXPECT_STREQ(e.what(), "BoundedSemaphore released too many times");
  }
  EXPECT_EQ(repr_state(sem.repr()), "unlocked, value:2]>");
  EXPECT_EQ(sem.repr().rfind("<weft::BoundedSemaphore at 0x", 0), 0u) << sem.repr();
  // A plain Semaphore has no bound.
  weft::Semaphore plain(1);
  plain.release();
  plain.release();
  EXPECT_EQ(repr_state(plain.repr()), "unlocked, value:3]>");
}

// ---- stress: 2-8 workers

class SemaphoreStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(SemaphoreStress, NeverMoreThanValueInsideAndNoPermitLost) {
  // Tasks take permits, some are cancelled at random (also right after being handed a permit).
  // More than `value` inside at once, a leaked permit (final value below 3) or a lost wake-up
  // (hang) fails the test.
  const int tasks = static_cast<int>(weft_sync_test::scaled(3000));
  constexpr int value = 3;
  std::atomic<int> inside{0};
  std::atomic<int> too_many{0};
  std::atomic<int> entries{0};
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::BoundedSemaphore sem(value);
    std::vector<weft::Task<void>> all;
    for (int i = 0; i < tasks; ++i) {
      all.push_back(weft::create_task([&, i] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(i) * 31u + 1u);
        for (int r = 0; r < 4; ++r) {
          weft::LockGuard guard(sem);
          weft_sync_test::Inside here(inside);
          if (here.before() >= value) too_many.fetch_add(1);
          dice.pause();
          entries.fetch_add(1);
        }
      }));
    }
    weft_sync_test::Dice dice(99);
    for (int i = 0; i < tasks / 3; ++i) {
      dice.pause();
      all[dice.below(static_cast<unsigned>(tasks))].cancel();
    }
    for (auto& t : all) {
      std::string how = outcome(t);
      if (how != "cancelled") {
        EXPECT_EQ(how, "ok");
      }
    }
    EXPECT_EQ(sem.value(), value);
    EXPECT_FALSE(sem.locked());
  });
  EXPECT_EQ(too_many.load(), 0);
  EXPECT_GT(entries.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Workers, SemaphoreStress,
                         ::testing::ValuesIn(weft_sync_test::stress_workers()));

}  // namespace
