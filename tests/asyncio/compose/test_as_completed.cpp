// as_completed: results arrive earliest first (exceptions too, in their turn); TimeoutError for
// every result still to come once the timeout passes, without cancelling anything; duplicates
// are counted once; coroutines become tasks; tasks already done come at once.
// Each scenario logs what tests/asyncio/compose/cpython/as_completed_scenarios.py prints.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::at;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;
using weft_compose_test::state_of;

template <class T>
weft::Coroutine<T> after(double delay, T value, bool fail = false) {
  return weft::coro([delay, value, fail] {
    weft::sleep(delay);
    if (fail) throw weft::ValueError("boom");
    return value;
  });
}

std::string text(int v) {
  return std::to_string(v);
}
std::string text(const std::string& v) {
  return v;
}

template <class Range>
void drain(Log& log, Range&& aws, std::optional<double> timeout = std::nullopt) {
  for (auto next : weft::as_completed(aws, timeout)) {
    try {
      log.add(at("got " + text(weft::await(next))));
    } catch (...) {
      log.add(at("caught " + name_of(std::current_exception())));
    }
  }
}

TEST(AsCompleted, ResultsArriveEarliestFirst) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<int>> tasks;
        for (int d : {3, 1, 2}) tasks.push_back(weft::create_task(after(double(d), d)));
        drain(log, tasks);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"got 1 at 1", "got 2 at 2", "got 3 at 3"}));
}

TEST(AsCompleted, ATimeoutMakesEveryResultStillToComeATimeoutErrorAndCancelsNothing) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<int>> tasks;
        for (int d : {1, 5, 4}) tasks.push_back(weft::create_task(after(double(d), d)));
        drain(log, tasks, 2.0);
        int a = weft::await(tasks[1]);
        std::string sa = state_of(tasks[1]);
        int b = weft::await(tasks[2]);
        log.add(at("slow ones: " + text(a) + " " + sa + ", " + text(b) + " " + state_of(tasks[2])));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"got 1 at 1", "caught TimeoutError at 2",
                                  "caught TimeoutError at 2", "slow ones: 5 ok, 4 ok at 5"}));
}

TEST(AsCompleted, DuplicatesAreCountedOnce) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task(after(1.0, 1));
        auto u = weft::create_task(after(2.0, 2));
        int n = 0;
        auto completions = weft::as_completed(std::vector{t, u, t});
        for (auto next : completions) {
          ++n;
          log.add(at("got " + text(weft::await(next))));
        }
        log.add(std::to_string(n) + " awaitables, size " + std::to_string(completions.size()));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"got 1 at 1", "got 2 at 2", "2 awaitables, size 2"}));
}

TEST(AsCompleted, CoroutinesBecomeTasksThatRunConcurrently) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Coroutine<std::string>> coros;
        coros.push_back(after(2.0, std::string("a")));
        coros.push_back(after(1.0, std::string("b")));
        drain(log, coros);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"got b at 1", "got a at 2"}));
}

TEST(AsCompleted, AnExceptionIsRaisedInItsTurn) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<int>> tasks{weft::create_task(after(2.0, 2)),
                                           weft::create_task(after(1.0, 0, true)),
                                           weft::create_task(after(3.0, 3))};
        drain(log, tasks);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"caught ValueError: boom at 1", "got 2 at 2", "got 3 at 3"}));
}

TEST(AsCompleted, ATaskAlreadyDoneComesAtOnce) {
  Log log;
  weft::run(
      [&] {
        auto done = weft::create_task(after(0.0, 1));
        weft::sleep(0);
        weft::sleep(0);
        auto later = weft::create_task(after(1.0, 3));
        drain(log, std::vector{later, done});
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"got 1 at 0", "got 3 at 1"}));
}

TEST(AsCompleted, EachAwaitableCanBeAwaitedOnce) {
  Log log;
  weft::run(
      [&] {
        auto completions = weft::as_completed(
            std::vector{weft::create_task(after(1.0, 1)), weft::create_task(after(2.0, 2))});
        auto next = *completions.begin();
        log.add(at("got " + text(weft::await(next))));
        try {
          weft::await(next);  // again: it is one coroutine object in asyncio
        } catch (const weft::RuntimeError& e) {
          log.add(e.what());
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"got 1 at 1", "cannot reuse already awaited coroutine"}));
}

}  // namespace
