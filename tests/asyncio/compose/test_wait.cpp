// wait: ALL_COMPLETED, FIRST_COMPLETED (a cancellation counts) and FIRST_EXCEPTION (equivalent
// to ALL_COMPLETED when nothing fails) return the right (done, pending) sets; a timeout returns
// what is pending without cancelling it, and so does cancelling the waiter; an empty set is a
// ValueError; duplicates collapse; futures work as tasks do.
// Each scenario logs what tests/asyncio/compose/cpython/wait_scenarios.py prints.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::at;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;
using weft_compose_test::state_of;

struct Spec {
  double delay;
  int value;
  bool fail = false;
};

using Tasks = std::map<std::string, weft::Task<int>>;

// Named tasks that sleep and return (or raise ValueError), created in name order.
Tasks make(const std::map<std::string, Spec>& specs) {
  Tasks tasks;
  for (const auto& [name, spec] : specs) {
    tasks[name] = weft::create_task(weft::coro([spec = spec] {
                                      weft::sleep(spec.delay);
                                      if (spec.fail)
                                        throw weft::ValueError(std::to_string(spec.value));
                                      return spec.value;
                                    }),
                                    name);
  }
  return tasks;
}

std::vector<weft::Task<int>> values(const Tasks& tasks) {
  std::vector<weft::Task<int>> out;
  for (const auto& [name, task] : tasks) out.push_back(task);
  return out;
}

std::string names(const std::unordered_set<weft::Task<int>>& set) {
  std::vector<std::string> sorted;
  for (const auto& t : set) sorted.push_back(t.get_name());
  std::sort(sorted.begin(), sorted.end());
  std::string text = "{";
  for (std::size_t i = 0; i < sorted.size(); ++i) text += (i ? ", " : "") + sorted[i];
  return text + "}";
}

template <class... A>
weft::WaitResult<weft::Task<int>> show(Log& log, const std::vector<weft::Task<int>>& aws,
                                       A... args) {
  auto result = weft::wait(aws, args...);
  log.add(at("done " + names(result.done) + " pending " + names(result.pending)));
  return result;
}

TEST(Wait, AllCompletedReturnsWhenEveryTaskIsDone) {
  Log log;
  weft::run(
      [&] {
        show(log, values(make({{"a", {3, 1}}, {"b", {1, 2}}, {"c", {2, 3}}})));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {a, b, c} pending {} at 3"}));
}

TEST(Wait, FirstCompletedReturnsWhenAnyIsDone) {
  Log log;
  weft::run(
      [&] {
        show(log, values(make({{"a", {3, 1}}, {"b", {1, 2}}, {"c", {2, 3}}})), std::nullopt,
             weft::FIRST_COMPLETED);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {b} pending {a, c} at 1"}));
}

TEST(Wait, FirstCompletedCountsACancellation) {
  Log log;
  weft::run(
      [&] {
        auto t = make({{"a", {3, 1}}, {"b", {2, 2}}});
        weft::get_running_loop().call_later(1.0, [b = t["b"]]() mutable { b.cancel(); });
        show(log, values(t), std::nullopt, weft::FIRST_COMPLETED);
        log.add("b " + state_of(t["b"]));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {b} pending {a} at 1", "b CancelledError"}));
}

TEST(Wait, FirstExceptionReturnsAtTheFirstFailure) {
  Log log;
  weft::run(
      [&] {
        show(log, values(make({{"a", {3, 1}}, {"b", {1, 0, true}}, {"c", {2, 3}}})), std::nullopt,
             weft::FIRST_EXCEPTION);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {b} pending {a, c} at 1"}));
}

TEST(Wait, FirstExceptionWithoutAFailureWaitsForAll) {
  Log log;
  weft::run(
      [&] {
        auto t = make({{"a", {3, 1}}, {"b", {1, 2}}, {"c", {2, 3}}});
        // A cancellation is not an exception for FIRST_EXCEPTION.
        weft::get_running_loop().call_later(1.5, [c = t["c"]]() mutable { c.cancel(); });
        show(log, values(t), std::nullopt, weft::FIRST_EXCEPTION);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {a, b, c} pending {} at 3"}));
}

TEST(Wait, ATimeoutReturnsThePendingTasksWithoutCancellingThem) {
  Log log;
  weft::run(
      [&] {
        auto t = make({{"a", {2, 1}}, {"b", {3, 2}}});
        show(log, values(t), 1.0);
        int a = weft::await(t["a"]);
        std::string sa = state_of(t["a"]);
        int b = weft::await(t["b"]);
        log.add(at("a " + std::to_string(a) + " " + sa + ", b " + std::to_string(b) + " " +
                   state_of(t["b"])));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {} pending {a, b} at 1", "a 1 ok, b 2 ok at 3"}));
}

TEST(Wait, CancellingTheWaiterCancelsNothingItWaitsFor) {
  Log log;
  weft::run(
      [&] {
        auto t = make({{"a", {2, 1}}});
        auto w = weft::create_task([aws = values(t)] { weft::wait(aws); });
        weft::sleep(1.0);
        w.cancel();
        weft::sleep(0);
        log.add(at("waiter " + state_of(w) + ", a done: " + (t["a"].done() ? "True" : "False")));
        log.add(at("a " + std::to_string(weft::await(t["a"]))));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"waiter CancelledError, a done: False at 1", "a 1 at 2"}));
}

TEST(Wait, AnEmptySetIsAValueError) {
  Log log;
  weft::run(
      [&] {
        try {
          weft::wait(std::vector<weft::Task<int>>{});
        } catch (...) {
          log.add(name_of(std::current_exception()));
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"ValueError: Set of Tasks/Futures is empty."}));
}

TEST(Wait, DuplicatesCollapseAsInASet) {
  Log log;
  weft::run(
      [&] {
        auto t = make({{"a", {1, 1}}, {"b", {2, 2}}});
        auto result = show(log, {t["a"], t["b"], t["a"]});
        log.add(std::to_string(result.done.size()) + " done");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {a, b} pending {} at 2", "2 done"}));
}

TEST(Wait, FuturesAreWaitedForAsTasksAre) {
  Log log;
  weft::run(
      [&] {
        weft::Future<int> f, g;
        weft::get_running_loop().call_later(1.0, [f]() mutable { f.set_result(5); });
        auto [done, pending] = weft::wait(std::vector{f, g}, std::nullopt, weft::FIRST_COMPLETED);
        log.add(at(std::string("f in done: ") + (done.contains(f) ? "True" : "False") +
                   ", g in pending: " + (pending.contains(g) ? "True" : "False") + ", f " +
                   std::to_string(f.result())));
        g.cancel();
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"f in done: True, g in pending: True, f 5 at 1"}));
}

TEST(Wait, ATaskAlreadyDoneCountsAtOnce) {
  Log log;
  weft::run(
      [&] {
        auto t = make({{"a", {0, 1}}, {"b", {5, 2}}});
        weft::sleep(0);
        weft::sleep(0);
        show(log, values(t), std::nullopt, weft::FIRST_COMPLETED);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done {a} pending {b} at 0"}));
}

}  // namespace
