// create_task and Task: scheduling on the running runtime, names, awaiting a Task, a Future and
// a Coroutine from a task, the result/exception rules, and a task awaiting itself.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;
using weft_rt_test::WarningCapture;

int task_number(const std::string& name) {
  EXPECT_EQ(name.rfind("Task-", 0), 0u) << name;
  return std::stoi(name.substr(5));
}

TEST(CreateTask, OutsideARuntimeThrowsRuntimeError) {
  WarningCapture warnings;
  try {
    weft::create_task([] { return 1; });
    FAIL() << "create_task outside a runtime returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("no running event loop", 0), 0u) << e.what();
  }
}

TEST(CreateTask, ACoroutineRefusedOutsideARuntimeIsReportedAsNeverAwaited) {
  // Python: create_task(coro()) with no loop raises RuntimeError, and the coroutine object is
  // then dropped unawaited ("RuntimeWarning: coroutine 'job' was never awaited").
  WarningCapture warnings;
  static const weft::CoroutineFunction job{"job", [] { return 1; }};
  EXPECT_THROW(weft::create_task(job()), weft::RuntimeError);
  auto reported = warnings.of("RuntimeWarning");
  ASSERT_EQ(reported.size(), 1u);
  EXPECT_EQ(reported[0].message, "coroutine 'job' was never awaited");
}

TEST(CreateTask, DefaultNamesAreTaskNIncreasing) {
  weft::run(
      [] {
        int main_n = task_number(weft::current_task().get_name());
        auto a = weft::create_task([] {});
        auto b = weft::create_task([] {});
        int na = task_number(a.get_name());
        int nb = task_number(b.get_name());
        EXPECT_GT(na, main_n);
        EXPECT_EQ(nb, na + 1);
        weft::await(a);
        weft::await(b);
      },
      deterministic());
}

// Python 3.13: a task given a name does not advance the Task-N counter (cpython/task_names.py).
TEST(CreateTask, OnlyDefaultNamedTasksAdvanceTheCounter) {
  weft::run(
      [] {
        auto a = weft::create_task([] {});
        auto named = weft::create_task([] {}, "x");
        auto b = weft::create_task([] {});
        EXPECT_EQ(named.get_name(), "x");
        EXPECT_EQ(task_number(b.get_name()), task_number(a.get_name()) + 1);
        weft::gather(a, named, b);
      },
      deterministic());
}

TEST(CreateTask, TheNameArgumentNamesTheTask) {
  weft::run(
      [] {
        auto t = weft::create_task([] { return weft::current_task().get_name(); }, "fetcher");
        EXPECT_EQ(t.get_name(), "fetcher");
        EXPECT_EQ(weft::await(t), "fetcher");
      },
      deterministic());
}

TEST(CreateTask, SetNameRenamesTheTaskAsSeenFromInside) {
  weft::run(
      [] {
        auto t = weft::create_task([] {
          weft::sleep(1.0);
          return weft::current_task().get_name();
        });
        t.set_name("renamed");
        EXPECT_EQ(t.get_name(), "renamed");
        EXPECT_EQ(weft::await(t), "renamed");
        weft::current_task().set_name("main");
        EXPECT_EQ(weft::current_task().get_name(), "main");
      },
      deterministic());
}

TEST(CreateTask, TheTaskDoesNotRunUntilItsCreatorYields) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task([&] { log.add("task"); });
        log.add("created");
        EXPECT_FALSE(t.done());
        weft::await(t);
        log.add("awaited");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"created", "task", "awaited"}));
}

TEST(CreateTask, AwaitingATaskReturnsItsResult) {
  EXPECT_EQ(weft::run(
                [] {
                  auto t = weft::create_task([] {
                    weft::sleep(1.0);
                    return std::string("value");
                  });
                  std::string v = weft::await(t);
                  EXPECT_TRUE(t.done());
                  EXPECT_FALSE(t.cancelled());
                  EXPECT_EQ(t.result(), "value");
                  EXPECT_EQ(t.exception(), nullptr);
                  return v;
                },
                deterministic()),
            "value");
}

TEST(CreateTask, AwaitingADoneTaskReturnsAtOnceAndAgain) {
  weft::run(
      [] {
        auto t = weft::create_task([] { return 3; });
        EXPECT_EQ(weft::await(t), 3);
        EXPECT_EQ(weft::await(t), 3);  // a task may be awaited any number of times
      },
      deterministic());
}

TEST(CreateTask, AwaitingAFailedTaskRethrowsItsException) {
  weft::run(
      [] {
        auto t = weft::create_task([]() -> int { throw std::out_of_range("boom"); });
        try {
          weft::await(t);
          ADD_FAILURE() << "await returned";
        } catch (const std::out_of_range& e) {
          EXPECT_STREQ(e.what(), "boom");
        }
        EXPECT_TRUE(t.done());
        EXPECT_FALSE(t.cancelled());
        EXPECT_THROW(t.result(), std::out_of_range);
        EXPECT_NE(t.exception(), nullptr);
      },
      deterministic());
}

TEST(CreateTask, ResultAndExceptionOfAPendingTaskAreInvalidState) {
  weft::run(
      [] {
        auto t = weft::create_task([] { weft::sleep(1.0); });
        try {
          t.result();
          ADD_FAILURE();
        } catch (const weft::InvalidStateError& e) {
          EXPECT_EQ(std::string(e.what()).rfind("Result is not set. ", 0), 0u)
              << e.what();  // asyncio's, then advice
        }
        try {
          t.exception();
          ADD_FAILURE();
        } catch (const weft::InvalidStateError& e) {
          EXPECT_EQ(std::string(e.what()).rfind("Exception is not set. ", 0), 0u) << e.what();
        }
        weft::await(t);
      },
      deterministic());
}

TEST(CreateTask, AwaitingAFutureCompletedByAnotherTask) {
  Log log;
  weft::run(
      [&] {
        weft::Future<int> f;
        auto waiter = weft::create_task([&, f] {
          log.add("waiting");
          int v = weft::await(f);
          log.add("got " + std::to_string(v));
          return v;
        });
        auto setter = weft::create_task([&, f]() mutable {
          weft::sleep(1.0);
          log.add("setting");
          f.set_result(7);
        });
        EXPECT_EQ(weft::await(waiter), 7);
        weft::await(setter);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"waiting", "setting", "got 7"}));
}

TEST(CreateTask, AwaitingAFutureCompletedByAForeignThread) {
  for (unsigned workers : {1u, 4u}) {
    int v = weft::run(
        [] {
          weft::Future<int> f;
          std::thread setter([f]() mutable {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            f.set_result(11);
          });
          int got = weft::await(f);
          setter.join();
          return got;
        },
        weft::RunOptions{.workers = workers});
    EXPECT_EQ(v, 11) << workers << " workers";
  }
}

TEST(CreateTask, AwaitingAFutureThatFailsRethrows) {
  weft::run(
      [] {
        weft::Future<int> f;
        auto t = weft::create_task([f]() mutable { f.set_exception(std::logic_error("nope")); });
        EXPECT_THROW(weft::await(f), std::logic_error);
        weft::await(t);
      },
      deterministic());
}

TEST(CreateTask, AwaitingACoroutineRunsItInlineInTheSameTask) {
  // `await coro()` does not go through the loop: the coroutine runs at once, in the awaiting
  // task, before any other ready task.
  Log log;
  weft::run(
      [&] {
        auto other = weft::create_task([&] { log.add("other task"); });
        auto me = weft::current_task();
        int v = weft::await(weft::coro([&] {
          log.add("inline");
          EXPECT_TRUE(weft::current_task() == me);
          return 5;
        }));
        log.add("after await " + std::to_string(v));
        weft::await(other);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"inline", "after await 5", "other task"}));
}

TEST(CreateTask, AnInlineCoroutineThatSuspendsSuspendsItsTask) {
  Log log;
  weft::run(
      [&] {
        auto other = weft::create_task([&] { log.add("other task"); });
        weft::await(weft::coro([&] {
          log.add("inline start");
          weft::sleep(0.0);
          log.add("inline end");
        }));
        weft::await(other);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"inline start", "other task", "inline end"}));
}

TEST(CreateTask, ATaskAwaitingItselfGetsRuntimeError) {
  std::string message;
  std::string name;
  weft::run(
      [&] {
        auto self = std::make_shared<weft::Task<void>>();
        *self = weft::create_task([&, self] {
          name = self->get_name();
          try {
            weft::await(*self);
          } catch (const weft::RuntimeError& e) {
            message = e.what();
          }
        });
        weft::await(*self);
        *self = {};  // break the cycle
      },
      deterministic());
  // Python: "Task cannot await on itself: <Task pending name='Task-5' coro=<...> ...>".
  EXPECT_EQ(message.rfind("Task cannot await on itself: <Task pending name='" + name + "'", 0), 0u)
      << message;
}

TEST(CreateTask, TasksRunConcurrentlyOnManyWorkers) {
  // Four tasks that each wait for all the others can only finish if they really run at once.
  constexpr int n = 4;
  std::atomic<int> arrived{0};
  weft::run(
      [&] {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < n; ++i) {
          tasks.push_back(weft::create_task([&] {
            ++arrived;
            while (arrived.load() < n) weft::sleep(0.0);
          }));
        }
        for (auto& t : tasks) weft::await(t);
      },
      weft::RunOptions{.workers = 4});
  EXPECT_EQ(arrived.load(), n);
}

TEST(CreateTask, GetCoroReturnsTheWrappedCoroutine) {
  static const weft::CoroutineFunction fetch{"fetch", [] { return 1; }};
  weft::run(
      [] {
        auto t = weft::create_task(fetch());
        EXPECT_EQ(t.get_coro().name(), "fetch");
        EXPECT_EQ(weft::getcoroutinestate(t.get_coro()), weft::CORO_CREATED);
        weft::await(t);
        EXPECT_EQ(weft::getcoroutinestate(t.get_coro()), weft::CORO_CLOSED);
      },
      deterministic());
}

TEST(CreateTask, ReprShowsStateNameAndCoroutine) {
  // asyncio's coroutine repr: "job() running at <where it waits>" (before its first step, where
  // it is defined), then "job() done, defined at <there>".
  static const weft::CoroutineFunction job{"job", [] {
                                             weft::sleep(1.0);  // the line it waits at
                                           }};
  static constexpr unsigned kDefined = __LINE__ - 1;  // the line the definition ends on
  static constexpr unsigned kWaits = __LINE__ - 3;
  const std::string file = __FILE__;
  weft::run(
      [&] {
        auto t = weft::create_task(job(), "worker");
        EXPECT_EQ(t.repr(), "<Task pending name='worker' coro=<job() running at " + file + ":" +
                                std::to_string(kDefined) + ">>");
        weft::sleep(0.0);
        EXPECT_EQ(t.repr(), "<Task pending name='worker' coro=<job() running at " + file + ":" +
                                std::to_string(kWaits) + ">>");
        weft::await(t);
        EXPECT_EQ(t.repr(), "<Task finished name='worker' coro=<job() done, defined at " + file +
                                ":" + std::to_string(kDefined) + ">>");
      },
      deterministic());
}

}  // namespace
