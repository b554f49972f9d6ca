// A task that waits on a primitive in its own body makes no Future: it arms a wake-up token,
// links itself, and suspends with AwaitWakeUp (sync_waiters.hpp). These tests pin down the
// races that design has to get right -- a cancel() before the task has suspended, a wake-up that
// wins over a cancel(), a wait that never happens -- and the fallback for a coroutine driven by
// hand, whose driver must get a future it can await.
#include <gtest/gtest.h>

#include <any>
#include <atomic>
#include <string>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using weft_sync_test::deterministic;
using weft_sync_test::outcome;
using weft_sync_test::repr_state;

// A cancel() that lands while the task is still running -- before it reached the wait -- is
// raised at the wait, and leaves no waiter behind in the primitive.
TEST(DirectWait, ACancelDuringTheStepIsRaisedAtTheWait) {
  weft::run(
      [] {
        weft::Event ev;
        weft::Lock lock;
        lock.acquire();
        auto on_event = weft::create_task([&] {
          weft::current_task().cancel("early");
          ev.wait();
        });
        auto on_lock = weft::create_task([&] {
          weft::current_task().cancel("early");
          lock.acquire();
        });
        EXPECT_EQ(outcome(on_event), "cancelled");
        EXPECT_EQ(outcome(on_lock), "cancelled");
        EXPECT_EQ(repr_state(ev.repr()), "unset]>");
        lock.release();
        EXPECT_FALSE(lock.locked());
        EXPECT_TRUE(lock.try_lock());  // nobody queued: the lock is free for a newcomer
      },
      deterministic());
}

// Woken first, cancelled before it runs: CancelledError comes out of the wait (asyncio's
// _must_cancel), and the wake-up it had been given goes to the next waiter.
TEST(DirectWait, AWakeUpThatWonOverACancelIsPassedOn) {
  std::vector<std::string> log;
  weft::run(
      [&] {
        weft::Lock lock;
        lock.acquire();
        auto first = weft::create_task([&] {
          weft::LockGuard guard(lock);
          log.push_back("first got it");
        });
        auto second = weft::create_task([&] {
          weft::LockGuard guard(lock);
          log.push_back("second got it");
        });
        weft::sleep(0);  // both wait now
        lock.release();  // wakes `first`
        first.cancel();  // before it ran
        EXPECT_EQ(outcome(first), "cancelled");
        EXPECT_EQ(outcome(second), "ok");
        EXPECT_FALSE(lock.locked());
      },
      deterministic());
  EXPECT_EQ(log, (std::vector<std::string>{"second got it"}));
}

// A semaphore's permit handed to a waiter that is then cancelled goes back, on any number of
// workers: after every round the value is whole again.
class DirectWaitWorkers : public ::testing::TestWithParam<unsigned> {};

TEST_P(DirectWaitWorkers, APermitGivenToACancelledWaiterGoesBack) {
  const int rounds = static_cast<int>(weft_sync_test::scaled(400));
  int whole = 0;
  weft::run(
      [&] {
        weft::Semaphore sem(1);
        for (int r = 0; r < rounds; ++r) {
          sem.acquire();
          auto waiter = weft::create_task([&] { weft::LockGuard guard(sem); });
          weft::sleep(0);
          sem.release();    // may wake the waiter ...
          waiter.cancel();  // ... which may be cancelled before or after that
          std::string how = outcome(waiter);
          if (how != "ok" && how != "cancelled") ADD_FAILURE() << how;
          if (sem.value() == 1 && !sem.locked()) ++whole;
        }
      },
      weft::RunOptions{.workers = GetParam()});
  EXPECT_EQ(whole, rounds);
}

INSTANTIATE_TEST_SUITE_P(Workers, DirectWaitWorkers, ::testing::Values(1u, 2u, 4u));

// Queue items racing cancellations on several workers: every item put is got exactly once, by a
// getter that was not cancelled, or is still in the queue at the end.
TEST_P(DirectWaitWorkers, QueueItemsRacingCancelledGettersAreGotOnce) {
  const int items = static_cast<int>(weft_sync_test::scaled(2000));
  std::vector<std::atomic<int>> got(static_cast<std::size_t>(items));
  int left = 0;
  weft::run(
      [&] {
        weft::Queue<int> queue;
        std::vector<weft::Task<void>> getters;
        for (int g = 0; g < 8; ++g) {
          getters.push_back(weft::create_task([&] {
            for (;;) {
              int item = queue.get();
              if (item < 0) return;
              got[static_cast<std::size_t>(item)].fetch_add(1);
            }
          }));
        }
        weft_sync_test::Dice dice(7);
        for (int i = 0; i < items; ++i) {
          queue.put(i);
          if (dice.below(64) == 0) {
            auto& victim = getters[dice.below(static_cast<unsigned>(getters.size()))];
            victim.cancel();
            (void)outcome(victim);
            victim = weft::create_task([&] {
              for (;;) {
                int item = queue.get();
                if (item < 0) return;
                got[static_cast<std::size_t>(item)].fetch_add(1);
              }
            });
          }
          if (i % 16 == 0) weft::sleep(0);
        }
        for (std::size_t g = 0; g < getters.size(); ++g) queue.put(-1);
        for (auto& g : getters) EXPECT_EQ(outcome(g), "ok");
        while (!queue.empty()) {
          int item = queue.get_nowait();
          if (item >= 0) {
            got[static_cast<std::size_t>(item)].fetch_add(1);
            ++left;
          }
        }
      },
      weft::RunOptions{.workers = GetParam()});
  int wrong = 0;
  for (auto& g : got) wrong += g.load() != 1;
  EXPECT_EQ(wrong, 0);
  EXPECT_EQ(left, 0);  // FIFO: every item went before the getters' stop marks
}

// A coroutine driven by hand inside a task: its wait must be something its driver can await, so
// it yields a future (not the task's own wake-up), and the event still reaches it.
TEST(DirectWait, ACoroutineDrivenByHandYieldsAFutureToItsDriver) {
  weft::run(
      [] {
        weft::Event ev;
        auto c = weft::coro([&] {
          ev.wait();
          return 7;
        });
        auto step = c.send();
        ASSERT_FALSE(step.returned());
        std::any& yielded = step.yielded();
        auto* await = std::any_cast<weft::detail::AwaitFuture>(&yielded);
        ASSERT_NE(await, nullptr) << "the driver got " << yielded.type().name();
        EXPECT_FALSE(await->future->done());
        ev.set();
        EXPECT_TRUE(await->future->done());
        auto last = c.send();
        ASSERT_TRUE(last.returned());
        EXPECT_EQ(last.value(), 7);
      },
      deterministic());
}

}  // namespace
