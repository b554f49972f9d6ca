// FIFO order on one worker: tasks start in creation order, sleep(0) yields to every ready task
// exactly as asyncio's ready queue does, wake-ups and timers keep asyncio's order. The expected
// sequences were produced by running the same program under CPython's asyncio.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;
using Entries = std::vector<std::string>;

TEST(FifoOrdering, TasksCreatedInOrderRunInOrder) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < 5; ++i) {
          tasks.push_back(weft::create_task([&, i] { log.add(std::to_string(i)); }));
        }
        for (auto& t : tasks) weft::await(t);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"0", "1", "2", "3", "4"}));
}

TEST(FifoOrdering, Sleep0InterleavesReadyTasksExactlyAsAsyncio) {
  // async def w(name, n): for i in range(n): log(f"{name}{i}"); await asyncio.sleep(0)
  Log log;
  weft::run(
      [&] {
        auto worker = [&](std::string name, int n) {
          for (int i = 0; i < n; ++i) {
            log.add(name + std::to_string(i));
            weft::sleep(0.0);
          }
        };
        auto a = weft::create_task([&] { worker("a", 3); });
        auto b = weft::create_task([&] { worker("b", 2); });
        auto c = weft::create_task([&] { worker("c", 1); });
        log.add("main");
        weft::sleep(0.0);
        log.add("main2");
        weft::await(a);
        weft::await(b);
        weft::await(c);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"main", "a0", "b0", "c0", "main2", "a1", "b1", "a2"}));
}

TEST(FifoOrdering, TheGatherFactorialExampleKeepsItsOrder) {
  // The spec's gather() example, with the tasks created in argument order as gather does.
  Log log;
  double end = weft::run(
      [&] {
        auto factorial = [&](std::string name, int number) {
          int f = 1;
          for (int i = 2; i <= number; ++i) {
            log.add("Task " + name + ": Compute factorial(" + std::to_string(i) + ")...");
            weft::sleep(1.0);
            f *= i;
          }
          log.add("Task " + name + ": factorial(" + std::to_string(number) +
                  ") = " + std::to_string(f));
          return f;
        };
        auto a = weft::create_task([&] { return factorial("A", 2); });
        auto b = weft::create_task([&] { return factorial("B", 3); });
        auto c = weft::create_task([&] { return factorial("C", 4); });
        EXPECT_EQ(weft::await(a), 2);
        EXPECT_EQ(weft::await(b), 6);
        EXPECT_EQ(weft::await(c), 24);
        return weft::get_running_loop().time();
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{
                               "Task A: Compute factorial(2)...",
                               "Task B: Compute factorial(2)...",
                               "Task C: Compute factorial(2)...",
                               "Task A: factorial(2) = 2",
                               "Task B: Compute factorial(3)...",
                               "Task C: Compute factorial(3)...",
                               "Task B: factorial(3) = 6",
                               "Task C: Compute factorial(4)...",
                               "Task C: factorial(4) = 24",
                           }));
  EXPECT_DOUBLE_EQ(end, 3.0);
}

TEST(FifoOrdering, TimersWithEqualDeadlinesFireInCreationOrder) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < 8; ++i) {
          tasks.push_back(weft::create_task([&, i] {
            weft::sleep(1.0);
            log.add(std::to_string(i));
          }));
        }
        for (auto& t : tasks) weft::await(t);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"0", "1", "2", "3", "4", "5", "6", "7"}));
}

TEST(FifoOrdering, TimersFireByDeadlineThenCreationOrder) {
  // [(3,"c"), (1,"a"), (2,"b"), (1,"a2"), (0,"z")] -> asyncio: z a a2 b c
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<void>> tasks;
        std::vector<std::pair<double, std::string>> plan{
            {3, "c"}, {1, "a"}, {2, "b"}, {1, "a2"}, {0, "z"}};
        for (auto& entry : plan) {
          // Init-captures: clang 14 cannot capture structured bindings (C++20, clang 16).
          tasks.push_back(weft::create_task([&, delay = entry.first, tag = entry.second] {
            weft::sleep(delay);
            log.add(tag);
          }));
        }
        for (auto& t : tasks) weft::await(t);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"z", "a", "a2", "b", "c"}));
}

TEST(FifoOrdering, TimersSetOutOfDeadlineOrderStillFireByDeadlineThenSettingOrder) {
  // Timers set in deadline order and timers set earlier than the latest one are kept apart
  // inside a worker; equal deadlines must still fire in the order they were set, across both.
  // Each deadline has callbacks only or sleeps only: a fired callback runs at once, while a
  // woken task runs after the timers fired with it (asyncio's ready queue does the same).
  Log log;
  struct Timer {
    double delay;
    std::string tag;
    bool sleep;  // a task's sleep, or a call_later callback
  };
  weft::run(
      [&] {
        std::vector<Timer> plan{{1, "a", false},   {2, "b", true},   {1, "a2", false},
                                {2, "b2", true},   {1, "a3", false}, {3, "c", true},
                                {0.5, "h", false}, {2, "b3", true},  {3, "c2", true},
                                {0.5, "h2", false}};
        std::vector<weft::Task<void>> tasks;
        for (const Timer& timer : plan) {
          if (!timer.sleep) {
            weft::get_running_loop().call_later(timer.delay,
                                                [&log, tag = timer.tag] { log.add(tag); });
            continue;
          }
          tasks.push_back(weft::create_task([&log, timer] {
            weft::sleep(timer.delay);
            log.add(timer.tag);
          }));
          weft::sleep(0.0);  // let it start: its timer is set now, in plan order
        }
        for (auto& t : tasks) weft::await(t);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"h", "h2", "a", "a2", "a3", "b", "b2", "b3", "c", "c2"}));
}

TEST(FifoOrdering, TasksAwaitingOneFutureResumeInTheOrderTheyAwaited) {
  // asyncio wakes a future's awaiters in the order they started waiting.
  Log log;
  weft::run(
      [&] {
        weft::Future<int> f;
        std::vector<weft::Task<void>> tasks;
        for (std::string tag : {"x", "y", "z"}) {
          tasks.push_back(weft::create_task([&, f, tag] {
            weft::await(f);
            log.add(tag);
          }));
        }
        weft::sleep(0.0);  // all three are now waiting on f
        f.set_result(1);
        log.add("set");
        weft::sleep(0.0);
        log.add("main");
        for (auto& t : tasks) weft::await(t);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"set", "x", "y", "z", "main"}));
}

TEST(FifoOrdering, AWokenTaskQueuesBehindTheTasksAlreadyReady) {
  // A wake-up appends to the ready queue (no LIFO jump with one worker).
  Log log;
  weft::run(
      [&] {
        weft::Future<> f;
        auto waiter = weft::create_task([&, f] {
          weft::await(f);
          log.add("woken");
        });
        weft::sleep(0.0);  // waiter waits
        auto r1 = weft::create_task([&] { log.add("ready1"); });
        f.set_result();
        auto r2 = weft::create_task([&] { log.add("ready2"); });
        weft::await(waiter);
        weft::await(r1);
        weft::await(r2);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"ready1", "woken", "ready2"}));
}

TEST(FifoOrdering, TheSayAfterExamplesTakeThreeAndTwoSeconds) {
  // The spec's two say_after programs: awaited one after the other (3 s), then as tasks (2 s).
  auto say_after = [](Log& log, double delay, std::string what) {
    weft::sleep(delay);
    log.add(what);
  };
  Log sequential;
  double t1 = weft::run(
      [&] {
        weft::await(weft::coro(say_after, std::ref(sequential), 1.0, std::string("hello")));
        weft::await(weft::coro(say_after, std::ref(sequential), 2.0, std::string("world")));
        return weft::get_running_loop().time();
      },
      deterministic());
  EXPECT_EQ(sequential.entries(), (Entries{"hello", "world"}));
  EXPECT_DOUBLE_EQ(t1, 3.0);

  Log concurrent;
  double t2 = weft::run(
      [&] {
        auto task1 = weft::create_task(
            weft::coro(say_after, std::ref(concurrent), 1.0, std::string("hello")));
        auto task2 = weft::create_task(
            weft::coro(say_after, std::ref(concurrent), 2.0, std::string("world")));
        weft::await(task1);
        weft::await(task2);
        return weft::get_running_loop().time();
      },
      deterministic());
  EXPECT_EQ(concurrent.entries(), (Entries{"hello", "world"}));
  EXPECT_DOUBLE_EQ(t2, 2.0);
}

TEST(FifoOrdering, ReadyTasksRunBeforeTheTimersThatFellDue) {
  // asyncio's pass runs what was ready, then the timers that fell due, appended behind it:
  //   loop.call_later(0, log "timer"); t = create_task(log "task"; sleep(0); log "task2")
  // CPython 3.13 prints ['main', 'task', 'timer', 'task2'].
  Log log;
  weft::run(
      [&] {
        weft::get_running_loop().call_later(0.0, [&] { log.add("timer"); });
        auto t = weft::create_task([&] {
          log.add("task");
          weft::sleep(0.0);
          log.add("task2");
        });
        log.add("main");
        weft::await(t);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"main", "task", "timer", "task2"}));
}

TEST(FifoOrdering, TimersThatFellDueTogetherRunInDeadlineOrderBehindTheReadyTasks) {
  // Two due timers set out of order, a sleeping task woken by one of them, and a ready task:
  // the ready task first, then the timers by deadline, then what they woke.
  Log log;
  weft::run(
      [&] {
        auto& loop = weft::get_running_loop();
        auto sleeper = weft::create_task([&] {
          weft::sleep(0.0);   // now, so that its timer is the latest set
          weft::sleep(0.02);  // due at 0.02 + the first timer's 0
          log.add("sleeper");
        });
        weft::sleep(0.0);
        weft::sleep(0.0);
        loop.call_later(0.02, [&] { log.add("t2"); });
        loop.call_later(0.01, [&] { log.add("t1"); });
        weft::sleep(0.05);
        log.add("main");
        weft::await(sleeper);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"t1", "t2", "sleeper", "main"}));
}

}  // namespace
