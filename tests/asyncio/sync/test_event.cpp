// Event: set() wakes every waiter (in FIFO order), wait() returns at once when set, clear(),
// a cancelled waiter leaves the others waiting, set() from a thread outside the runtime; and
// rounds of waiters and setters on 2-8 workers with nothing left waiting.
// The one-worker scenarios print what tests/asyncio/sync/cpython/event_scenarios.py prints.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using weft_sync_test::deterministic;
using weft_sync_test::outcome;
using weft_sync_test::repr_state;
using Log = std::vector<std::string>;

TEST(Event, SetWakesEveryWaiterInFifoOrder) {
  Log log;
  weft::run(
      [&] {
        weft::Event ev;
        auto waiter = [&](std::string name) {
          log.push_back(name + " waits");
          ev.wait();
          log.push_back(name + " woke");
        };
        std::vector<weft::Task<void>> tasks;
        for (const char* name : {"a", "b", "c"}) {
          tasks.push_back(weft::create_task(weft::coro(waiter, std::string(name))));
        }
        weft::sleep(0);
        log.push_back(repr_state(ev.repr()));
        ev.set();
        log.push_back("set");
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
        log.push_back(std::string("wait when set: ") + (ev.wait() ? "True" : "False"));
        ev.clear();
        log.push_back(std::string("cleared: is_set=") + (ev.is_set() ? "True" : "False"));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a waits", "b waits", "c waits", "unset, waiters:3]>", "set", "a woke",
                      "b woke", "c woke", "wait when set: True", "cleared: is_set=False"}));
}

TEST(Event, ACancelledWaiterLeavesTheOthersWaiting) {
  Log log;
  weft::run(
      [&] {
        weft::Event ev;
        auto waiter = [&](std::string name) {
          try {
            ev.wait();
            log.push_back(name + " woke");
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
        };
        auto a = weft::create_task(weft::coro(waiter, std::string("a")));
        auto b = weft::create_task(weft::coro(waiter, std::string("b")));
        weft::sleep(0);
        a.cancel();
        weft::sleep(0);
        log.push_back(repr_state(ev.repr()));
        ev.set();
        EXPECT_EQ(outcome(a), "cancelled");
        EXPECT_EQ(outcome(b), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a cancelled", "unset, waiters:1]>", "b woke"}));
}

TEST(Event, AWaiterWokenBySetStillWakesIfClearedBeforeItRuns) {
  Log log;
  weft::run(
      [&] {
        weft::Event ev;
        auto t = weft::create_task([&] {
          ev.wait();
          log.push_back("woke");
        });
        weft::sleep(0);
        ev.set();
        ev.clear();
        EXPECT_EQ(outcome(t), "ok");
        log.push_back(std::string("is_set=") + (ev.is_set() ? "True" : "False"));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"woke", "is_set=False"}));
}

TEST(Event, SetFromAThreadOutsideTheRuntimeWakesTheWaiters) {
  weft::Event ev;
  std::atomic<int> woke{0};
  weft::Runtime runtime({.workers = 2});
  std::vector<weft::ConcurrentFuture<void>> done;
  for (int i = 0; i < 4; ++i) {
    done.push_back(weft::run_coroutine_threadsafe(weft::coro([&] {
                                                    ev.wait();
                                                    woke.fetch_add(1);
                                                  }),
                                                  runtime));
  }
  ASSERT_TRUE(
      weft_sync_test::eventually([&] { return repr_state(ev.repr()) == "unset, waiters:4]>"; }));
  EXPECT_EQ(woke.load(), 0);
  std::thread setter([&] { ev.set(); });
  setter.join();
  for (auto& f : done) f.result();
  EXPECT_EQ(woke.load(), 4);
}

// ---- stress: 2-8 workers

class EventStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(EventStress, EveryRoundWakesEveryWaiter) {
  // Each round: waiters (some cancelled on the way) wait on a fresh event while a setter task
  // sets it after random pauses. A lost wake-up hangs the test; a spurious one shows up as a
  // waiter that saw the event unset.
  const int rounds = static_cast<int>(weft_sync_test::scaled(200));
  const int waiters = 20;
  std::atomic<int> woke{0};
  std::atomic<int> saw_unset{0};
  std::atomic<int> cancelled{0};
  weft_sync_test::stress_run(GetParam(), [&] {
    weft_sync_test::Dice dice(7);
    for (int r = 0; r < rounds; ++r) {
      weft::Event ev;
      std::vector<weft::Task<void>> tasks;
      for (int i = 0; i < waiters; ++i) {
        tasks.push_back(weft::create_task([&, i] {
          weft_sync_test::Dice mine(static_cast<std::uint32_t>(r * waiters + i));
          mine.pause();
          ev.wait();
          if (!ev.is_set()) saw_unset.fetch_add(1);
          woke.fetch_add(1);
        }));
      }
      auto setter = weft::create_task([&] {
        weft_sync_test::Dice mine(static_cast<std::uint32_t>(r));
        mine.pause();
        ev.set();
      });
      if (dice.one_in(2)) tasks[dice.below(waiters)].cancel();
      weft::await(setter);
      for (auto& t : tasks) {
        if (outcome(t) == "cancelled") cancelled.fetch_add(1);
      }
    }
  });
  EXPECT_EQ(saw_unset.load(), 0);
  EXPECT_EQ(woke.load() + cancelled.load(), rounds * waiters);
}

INSTANTIATE_TEST_SUITE_P(Workers, EventStress,
                         ::testing::ValuesIn(weft_sync_test::stress_workers()));

}  // namespace
