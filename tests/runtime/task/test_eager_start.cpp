// create_task(coro, {.eager_start = true}) (asyncio 3.14's eager_start; 3.12's eager tasks): the
// coroutine runs at once, inside create_task, until it first suspends, as the new task (its
// current_task); one that ends without suspending is done on return; an exception ends the task,
// not the creator. Each scenario logs what cpython/eager_start_scenarios.py printed (.out beside).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;
using Entries = std::vector<std::string>;

TEST(EagerStart, RunsUntilItsFirstSuspensionInsideCreateTask) {
  Log log;
  weft::run(
      [&] {
        auto creator = weft::current_task();
        log.add("before create_task");
        auto t = weft::create_task(
            [&log] {
              log.add("body starts in " + weft::current_task().get_name());
              weft::sleep(0.0);
              log.add("body resumes");
              return 7;
            },
            {.name = "eager", .eager_start = true});
        log.add(std::string("after create_task: done=") + (t.done() ? "True" : "False"));
        log.add("result " + std::to_string(weft::await(t)));
        log.add(std::string("current task is the creator: ") +
                (weft::current_task() == creator ? "True" : "False"));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Entries{"before create_task", "body starts in eager", "after create_task: done=False",
                     "body resumes", "result 7", "current task is the creator: True"}));
}

TEST(EagerStart, ATaskThatDoesNotSuspendIsDoneOnReturn) {
  weft::run(
      [] {
        auto t = weft::create_task([] { return 5; }, {.eager_start = true});
        EXPECT_TRUE(t.done());
        EXPECT_EQ(t.result(), 5);
      },
      deterministic());
}

TEST(EagerStart, AnExceptionInTheFirstStepFinishesTheTaskNotTheCreator) {
  weft::run(
      [] {
        auto t = weft::create_task([]() -> int { throw weft::ValueError("boom"); },
                                   {.eager_start = true});
        EXPECT_TRUE(t.done());
        ASSERT_TRUE(t.exception());
        EXPECT_THROW(std::rethrow_exception(t.exception()), weft::ValueError);
      },
      deterministic());
}

TEST(EagerStart, TheCreatorGoesOnBeforeTheLazyTasksItMade) {
  Log log;
  weft::run(
      [&] {
        auto child = [&log](std::string name) {
          return weft::coro([&log, name] {
            log.add(name + " starts");
            weft::sleep(0.0);
            log.add(name + " ends");
          });
        };
        auto lazy = weft::create_task(child("lazy"));
        auto first = weft::create_task(child("eager"), {.eager_start = true});
        log.add("creator continues");
        weft::gather(lazy, first);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"eager starts", "creator continues", "lazy starts",
                                    "eager ends", "lazy ends"}));
}

// Eager tasks made from eager tasks, on several workers, each waiting on futures others complete:
// every one runs its body once and ends, and the creators' current_task is theirs again.
TEST(EagerStart, NestedEagerTasksOnManyWorkersStress) {
  std::atomic<long> bodies{0};
  std::atomic<long> wrong_current{0};
  const long rounds = weft_rt_test::scaled(2000);
  weft::run(
      [&] {
        for (long round = 0; round < rounds; ++round) {
          weft::Future<int> gate;
          auto self = weft::current_task();
          auto outer = weft::create_task(
              [&, gate] {
                auto me = weft::current_task();
                auto inner = weft::create_task(
                    [&, gate] {
                      bodies.fetch_add(1);
                      return weft::await(gate) + 1;
                    },
                    {.eager_start = true});
                if (!(weft::current_task() == me)) wrong_current.fetch_add(1);
                bodies.fetch_add(1);
                return weft::await(inner);
              },
              {.eager_start = true});
          if (!(weft::current_task() == self)) wrong_current.fetch_add(1);
          auto completer = weft::create_task(
              [gate, round]() mutable { gate.set_result(static_cast<int>(round)); });
          EXPECT_EQ(weft::await(outer), static_cast<int>(round) + 1);
          weft::await(completer);
        }
      },
      weft::RunOptions{.workers = 4});
  EXPECT_EQ(bodies.load(), 2 * rounds);
  EXPECT_EQ(wrong_current.load(), 0);
}

}  // namespace
