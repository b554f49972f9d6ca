// Condition: notify(n) / notify_all wake waiters in FIFO order, wait_for re-checks its
// predicate and takes any result that converts to bool, a cancelled waiter takes the lock back
// before CancelledError leaves wait(), a notification that reaches a waiter cancelled before it
// runs is passed on (CPython 3.13's behaviour; 3.11 loses it), the error messages, a shared
// Lock; and a one-token-at-a-time hand-off under stress on 2-8 workers that hangs if any
// notification is lost.
// The one-worker scenarios print what tests/asyncio/sync/cpython/condition_scenarios.py prints.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using weft_sync_test::deterministic;
using weft_sync_test::outcome;
using weft_sync_test::repr_state;
using Log = std::vector<std::string>;

TEST(Condition, NotifyWakesWaitersInFifoOrder) {
  Log log;
  weft::run(
      [&] {
        weft::Condition cond;
        auto waiter = [&](std::string name) {
          weft::LockGuard guard(cond);
          log.push_back(name + " waits");
          cond.wait();
          log.push_back(name + " notified");
        };
        std::vector<weft::Task<void>> tasks;
        for (const char* name : {"a", "b", "c", "d"}) {
          tasks.push_back(weft::create_task(weft::coro(waiter, std::string(name))));
        }
        weft::sleep(0);
        {
          weft::LockGuard guard(cond);
          log.push_back(repr_state(cond.repr()));
          cond.notify(2);
          log.push_back("notified 2");
        }
        weft::sleep(0);
        {
          weft::LockGuard guard(cond);
          cond.notify_all();
          log.push_back("notified all");
        }
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
      },
      deterministic());
  EXPECT_EQ(log,
            (Log{"a waits", "b waits", "c waits", "d waits", "locked, waiters:4]>", "notified 2",
                 "a notified", "b notified", "notified all", "c notified", "d notified"}));
}

TEST(Condition, WaitForReturnsOnceThePredicateHolds) {
  Log log;
  weft::run(
      [&] {
        weft::Condition cond;
        std::vector<int> items;
        auto consumer = [&](std::string name) {
          weft::LockGuard guard(cond);
          bool got = cond.wait_for([&] { return items.size() >= 2; });
          log.push_back(name + " sees " + std::to_string(items.size()) +
                        " items, predicate returned " + (got ? "True" : "False"));
        };
        auto a = weft::create_task(weft::coro(consumer, std::string("a")));
        auto b = weft::create_task(weft::coro(consumer, std::string("b")));
        for (int i = 0; i < 3; ++i) {
          weft::sleep(1.0);
          weft::LockGuard guard(cond);
          items.push_back(i);
          log.push_back("put " + std::to_string(i));
          cond.notify_all();
        }
        EXPECT_EQ(outcome(a), "ok");
        EXPECT_EQ(outcome(b), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"put 0", "put 1", "a sees 2 items, predicate returned True",
                      "b sees 2 items, predicate returned True", "put 2"}));
}

TEST(Condition, WaitForTakesAnyResultThatConvertsToBool) {
  // asyncio takes any truthy result and returns it: an int count, a pointer, a move-only
  // handle, a result that converts to bool only explicitly. A predicate returning a reference
  // gives back a copy, never a reference to wait_for's own local.
  struct Truthy {
    int n;
    explicit operator bool() const { return n != 0; }
  };
  weft::run(
      [] {
        weft::Condition cond;
        weft::LockGuard guard(cond);
        std::vector<int> items;
        auto producer = weft::create_task([&] {
          for (int i = 1; i <= 3; ++i) {
            weft::sleep(1.0);
            weft::LockGuard producer_guard(cond);
            items.push_back(i);
            cond.notify();
          }
        });
        int calls = 0;
        auto count = cond.wait_for([&] {
          ++calls;
          return static_cast<int>(items.size()) / 2;  // 0 while fewer than two
        });
        static_assert(std::is_same_v<decltype(count), int>);
        EXPECT_EQ(count, 1);
        EXPECT_EQ(calls, 3);
        int* last = cond.wait_for([&] { return items.size() == 3 ? &items.back() : nullptr; });
        EXPECT_EQ(*last, 3);
        auto owned = cond.wait_for([&] { return std::make_unique<int>(7); });
        EXPECT_EQ(*owned, 7);
        Truthy truthy = cond.wait_for([] { return Truthy{5}; });
        EXPECT_EQ(truthy.n, 5);
        int flag = 2;
        auto copy = cond.wait_for([&]() -> const int& { return flag; });
        static_assert(std::is_same_v<decltype(copy), int>);
        EXPECT_EQ(copy, 2);
        EXPECT_EQ(outcome(producer), "ok");
      },
      deterministic());
}

TEST(Condition, ACancelledWaiterTakesTheLockBackBeforeRaising) {
  Log log;
  weft::run(
      [&] {
        weft::Condition cond;
        auto t = weft::create_task([&] {
          weft::LockGuard guard(cond);
          try {
            cond.wait();
          } catch (const weft::CancelledError&) {
            log.push_back(std::string("cancelled, holds the lock: ") +
                          (cond.locked() ? "True" : "False"));
            throw;
          }
        });
        weft::sleep(0);
        cond.acquire();
        t.cancel();
        weft::sleep(1.0);
        log.push_back(std::string("still waiting for the lock: ") + (!t.done() ? "True" : "False"));
        cond.release();
        if (outcome(t) == "cancelled") log.push_back("task cancelled");
        log.push_back(std::string("locked at end: ") + (cond.locked() ? "True" : "False"));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"still waiting for the lock: True", "cancelled, holds the lock: True",
                      "task cancelled", "locked at end: False"}));
}

TEST(Condition, ANotificationToAWaiterCancelledBeforeItRunsPassesOn) {
  // CPython 3.11 prints ['a cancelled', 'b done: False', 'b cancelled']: the notification dies
  // with a. weft does what CPython 3.13 does (gh-112202): a passes it on to b.
  Log log;
  weft::run(
      [&] {
        weft::Condition cond;
        auto waiter = [&](std::string name) {
          weft::LockGuard guard(cond);
          try {
            cond.wait();
            log.push_back(name + " notified");
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
        };
        auto a = weft::create_task(weft::coro(waiter, std::string("a")));
        auto b = weft::create_task(weft::coro(waiter, std::string("b")));
        weft::sleep(0);
        {
          weft::LockGuard guard(cond);
          cond.notify(1);  // a is notified...
          a.cancel();      // ...and cancelled before it runs
        }
        weft::sleep(1.0);
        log.push_back(std::string("b done: ") + (b.done() ? "True" : "False"));
        b.cancel();
        EXPECT_EQ(outcome(a), "cancelled");
        EXPECT_EQ(outcome(b), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a cancelled", "b notified", "b done: True"}));
}

TEST(Condition, WaitOrNotifyWithoutTheLockRaisesRuntimeError) {
  weft::run(
      [] {
        weft::Condition cond;
        try {
          cond.wait();
          ADD_FAILURE() << "wait() without the lock returned";
        } catch (const weft::RuntimeError& e) {
          EXPECT_STREQ(e.what(), "cannot wait on un-acquired lock");
        }
        try {
          cond.notify();
          ADD_FAILURE() << "notify() without the lock returned";
        } catch (const weft::RuntimeError& e) {
          EXPECT_STREQ(e.what(), "cannot notify on un-acquired lock");
        }
        try {
          cond.notify_all();
          ADD_FAILURE() << "notify_all() without the lock returned";
        } catch (const weft::RuntimeError& e) {
          EXPECT_STREQ(e.what(), "cannot notify on un-acquired lock");
        }
      },
      deterministic());
}

TEST(Condition, SharesTheLockItIsGiven) {
  weft::run(
      [] {
        weft::Lock lock;
        weft::Condition cond(lock);
        {
          std::unique_lock<weft::Condition> held(cond);
          EXPECT_TRUE(lock.locked());
          auto t = weft::create_task([&] {
            weft::LockGuard guard(lock);
            cond.notify();
          });
          cond.wait();  // releases `lock`, so t can take it and notify
          EXPECT_TRUE(lock.locked());
          EXPECT_EQ(outcome(t), "ok");
        }
        EXPECT_FALSE(lock.locked());
      },
      deterministic());
}

// ---- stress: 2-8 workers

class ConditionStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(ConditionStress, NoNotificationIsLost) {
  // One token at a time: the notifier adds a token and notify(1)s only when the last one was
  // taken. Waiters are cancelled at random, some right after being notified. A notification
  // lost with a cancelled waiter leaves the token untaken and everybody waiting: a hang.
  const int waiters = static_cast<int>(weft_sync_test::scaled(2000));
  std::atomic<int> finished{0};
  std::atomic<int> ended{0};  // by done callbacks: a task cancelled before it starts counts too
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::Condition cond;
    int tokens = 0;  // guarded by cond's lock
    std::vector<weft::Task<void>> all;
    for (int i = 0; i < waiters; ++i) {
      all.push_back(weft::create_task([&, i] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(i) + 5u);
        dice.pause();
        {
          weft::LockGuard guard(cond);
          cond.wait_for([&] { return tokens > 0; });
          --tokens;
        }
        finished.fetch_add(1);
      }));
      all.back().add_done_callback([&](weft::Task<void>&) { ended.fetch_add(1); });
    }
    auto canceller = weft::create_task([&] {
      weft_sync_test::Dice dice(4242);
      for (int i = 0; i < waiters / 4; ++i) {
        dice.pause();
        all[dice.below(static_cast<unsigned>(waiters))].cancel();
      }
    });
    while (ended.load() < waiters) {
      {
        weft::LockGuard guard(cond);
        if (tokens == 0) {
          tokens = 1;
          cond.notify(1);
        }
      }
      weft::sleep(0);
    }
    EXPECT_EQ(outcome(canceller), "ok");
    for (auto& t : all) outcome(t);
  });
  EXPECT_EQ(ended.load(), waiters);
  EXPECT_GT(finished.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Workers, ConditionStress,
                         ::testing::ValuesIn(weft_sync_test::stress_workers()));

}  // namespace
