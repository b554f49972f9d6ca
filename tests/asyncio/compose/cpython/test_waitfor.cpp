// CPython's Lib/test/test_asyncio/test_waitfor.py, method by method (each test is named after the
// method it mirrors), on 1 and 2 workers. The tests that race a tiny timeout against a task that
// was just made ready run in real time: asyncio's loop runs what was ready before the timers that
// fell due, so the inner task always takes its first step (and so runs its `finally`) before the
// timeout cancels it. weft keeps that order per worker (Worker::fire_due_timers); on 2 workers a
// thief may take the inner task and be preempted before its first step while the other worker
// fires the timer, so there the timeouts are 100 ms rather than CPython's 0.1 ms.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "../compose_test_support.hpp"

namespace {

constexpr double kEpsilon = 0.0001;  // CPython's _EPSILON

class AsyncioWaitForTest : public ::testing::TestWithParam<unsigned> {
 protected:
  unsigned workers() const { return GetParam(); }
  // Real time: the races below are between a ready task and a timer that falls due.
  weft::RunOptions real_time() const { return weft::RunOptions{.workers = workers()}; }
  weft::RunOptions virtual_time() const {
    return weft::RunOptions{.workers = workers(), .virtual_time = true};
  }
  // CPython's epsilon on one worker (where the order is exact), 100 ms on two (see the top): a
  // loaded CI machine may preempt the thief that much.
  double epsilon() const { return workers() == 1 ? kEpsilon : 0.1; }
};

// CPython's SlowTask: runs TASK_TIMEOUT seconds, ignoring cancel requests.
struct SlowTask {
  static constexpr double task_timeout = 0.2;
  std::atomic<bool> started{false};
  std::atomic<bool> exited{false};
  void run() {
    started = true;
    auto exit_at = std::chrono::steady_clock::now() + std::chrono::duration<double>(task_timeout);
    for (;;) {
      double to_sleep =
          std::chrono::duration<double>(exit_at - std::chrono::steady_clock::now()).count();
      if (to_sleep <= 0) break;
      try {
        weft::sleep(to_sleep);
      } catch (const weft::CancelledError&) {
      }
    }
    exited = true;
  }
};

TEST_P(AsyncioWaitForTest, test_asyncio_wait_for_cancelled) {
  SlowTask t;
  weft::run(
      [&] {
        auto wait_for_task = weft::create_task(
            [&] { weft::wait_for(weft::coro([&] { t.run(); }), SlowTask::task_timeout * 2); });
        // asyncio's sleep(0) lets the task start; on two workers it may start on the other
        // worker a little later, so wait until it did (on one worker the loop runs once).
        do {
          weft::sleep(0.0);
        } while (!t.started);
        wait_for_task.cancel();
        weft::wait(std::vector{wait_for_task});
      },
      real_time());
  EXPECT_TRUE(t.exited);
}

TEST_P(AsyncioWaitForTest, test_asyncio_wait_for_timeout) {
  SlowTask t;
  weft::run(
      [&] {
        try {
          weft::wait_for(weft::coro([&] { t.run(); }), SlowTask::task_timeout / 2);
        } catch (const weft::TimeoutError&) {
        }
      },
      real_time());
  EXPECT_TRUE(t.exited);
}

TEST_P(AsyncioWaitForTest, test_wait_for_timeout_less_then_0_or_0_future_done) {
  weft::run(
      [&] {
        weft::Future<std::string> fut;
        fut.set_result("done");
        EXPECT_EQ(weft::wait_for(fut, 0.0), "done");
        EXPECT_TRUE(fut.done());
      },
      virtual_time());
}

TEST_P(AsyncioWaitForTest, test_wait_for_timeout_less_then_0_or_0_coroutine_do_not_started) {
  std::atomic<bool> foo_started{false};
  weft::run(
      [&] {
        EXPECT_THROW(weft::wait_for(weft::coro([&] { foo_started = true; }), 0.0),
                     weft::TimeoutError);
      },
      virtual_time());
  EXPECT_FALSE(foo_started);
}

TEST_P(AsyncioWaitForTest, test_wait_for_timeout_less_then_0_or_0) {
  for (double timeout : {0.0, -1.0}) {
    SCOPED_TRACE(timeout);
    std::atomic<int> foo_running{-1};  // None
    weft::run(
        [&] {
          weft::Future<> started;
          auto fut = weft::create_task([&] {
            foo_running = 1;
            started.set_result();
            try {
              weft::sleep(10.0);
            } catch (...) {
              foo_running = 0;
              throw;
            }
            foo_running = 0;
            return std::string("done");
          });
          weft::await(started);
          EXPECT_THROW(weft::wait_for(fut, timeout), weft::TimeoutError);
          EXPECT_TRUE(fut.done());
          EXPECT_TRUE(fut.cancelled());  // cancelled by the timeout
          EXPECT_EQ(foo_running.load(), 0);
        },
        virtual_time());
  }
}

TEST_P(AsyncioWaitForTest, test_wait_for) {
  std::atomic<int> foo_running{-1};
  weft::run(
      [&] {
        auto fut = weft::create_task([&] {
          foo_running = 1;
          try {
            weft::sleep(300.0);
          } catch (...) {
            foo_running = 0;
            throw;
          }
          foo_running = 0;
          return std::string("done");
        });
        EXPECT_THROW(weft::wait_for(fut, 0.1), weft::TimeoutError);
        EXPECT_TRUE(fut.done());
        EXPECT_TRUE(fut.cancelled());  // cancelled by the timeout
        EXPECT_EQ(foo_running.load(), 0);
      },
      real_time());
}

TEST_P(AsyncioWaitForTest, test_wait_for_blocking) {
  std::string result = weft::run(
      [] { return weft::wait_for(weft::coro([] { return std::string("done"); }), std::nullopt); },
      virtual_time());
  EXPECT_EQ(result, "done");
}

TEST_P(AsyncioWaitForTest, test_wait_for_race_condition) {
  std::string result = weft::run(
      [] {
        weft::Future<std::string> fut;
        weft::get_running_loop().call_soon([fut]() mutable { fut.set_result("ok"); });
        return weft::wait_for(fut, 0.2);
      },
      real_time());
  EXPECT_EQ(result, "ok");
}

TEST_P(AsyncioWaitForTest, test_wait_for_cancellation_race_condition) {
  int result = weft::run(
      [] {
        return weft::wait_for(weft::coro([] {
                                EXPECT_THROW(weft::sleep(1.0), weft::CancelledError);
                                return 1;
                              }),
                              0.01);
      },
      real_time());
  EXPECT_EQ(result, 1);
}

TEST_P(AsyncioWaitForTest, test_wait_for_waits_for_task_cancellation) {
  // The inner task was just created when wait_for's epsilon timeout falls due: it must take its
  // first step before the timeout cancels it, or its `finally` would never run.
  std::atomic<bool> task_done{false};
  const double eps = epsilon();
  weft::run(
      [&] {
        auto inner_task = weft::create_task([&, eps] {
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError&) {
            weft::sleep(eps);
            task_done = true;  // the `finally`, after the except's sleep, before the re-raise
            throw;
          }
          task_done = true;
        });
        try {
          weft::wait_for(inner_task, eps);
          ADD_FAILURE() << "wait_for returned";
        } catch (const weft::TimeoutError& e) {
          EXPECT_TRUE(e.cause() != nullptr);  // __context__: the CancelledError
          EXPECT_THROW(std::rethrow_exception(e.cause()), weft::CancelledError);
        }
      },
      real_time());
  EXPECT_TRUE(task_done);
}

TEST_P(AsyncioWaitForTest, test_wait_for_waits_for_task_cancellation_w_timeout_0) {
  std::atomic<bool> task_done{false};
  const double eps = epsilon();
  weft::run(
      [&] {
        auto foo = weft::coro([&, eps] {
          auto inner_task = weft::create_task([&, eps] {
            try {
              weft::sleep(10.0);
            } catch (const weft::CancelledError&) {
              weft::sleep(eps);
              task_done = true;
              throw;
            }
            task_done = true;
          });
          weft::sleep(eps);
          weft::wait_for(inner_task, 0.0);
        });
        try {
          weft::await(foo);
          ADD_FAILURE() << "foo returned";
        } catch (const weft::TimeoutError& e) {
          EXPECT_THROW(std::rethrow_exception(e.cause()), weft::CancelledError);
        }
      },
      real_time());
  EXPECT_TRUE(task_done);
}

struct FooException : std::runtime_error {
  FooException() : std::runtime_error("FooException") {}
};

TEST_P(AsyncioWaitForTest, test_wait_for_reraises_exception_during_cancellation) {
  // Only an inner task that started can raise from its `finally`: the timeout may not overtake
  // its first step.
  const double eps = epsilon();
  weft::run(
      [&] {
        auto foo = weft::coro([eps] {
          auto inner_task = weft::create_task([] {
            try {
              weft::sleep(0.2);
            } catch (...) {
            }
            throw FooException();
          });
          weft::wait_for(inner_task, eps);
        });
        EXPECT_THROW(weft::await(foo), FooException);
      },
      real_time());
}

void cancel_wait_for(std::optional<double> timeout, weft::RunOptions options) {
  weft::run(
      [&] {
        auto task = weft::create_task([] {
          weft::Future<> fut;  // never set: blocks
          weft::await(fut);
        });
        auto wait = weft::create_task([task, timeout] { weft::wait_for(task, timeout); });
        weft::get_running_loop().call_soon([wait]() mutable { wait.cancel(); });
        EXPECT_THROW(weft::await(wait), weft::CancelledError);
        // Python issue #23219: cancelling the wait must also cancel the task.
        EXPECT_TRUE(task.cancelled());
      },
      options);
}

TEST_P(AsyncioWaitForTest, test_cancel_blocking_wait_for) {
  cancel_wait_for(std::nullopt, virtual_time());
}

TEST_P(AsyncioWaitForTest, test_cancel_wait_for) {
  cancel_wait_for(60.0, virtual_time());
}

TEST_P(AsyncioWaitForTest, test_wait_for_cancel_suppressed) {
  // GH-86296: a task that suppresses the CancelledError and returns a value gives that value.
  int res = weft::run(
      [] {
        return weft::wait_for(weft::coro([] {
                                try {
                                  weft::sleep(10.0);
                                } catch (const weft::CancelledError&) {
                                  return 42;
                                }
                                return 0;
                              }),
                              0.1);
      },
      virtual_time());
  EXPECT_EQ(res, 42);
}

TEST_P(AsyncioWaitForTest, test_wait_for_issue86296) {
  // GH-86296: the task must be cancelled and not run to completion, though its inner completes
  // in one pass of the loop.
  std::atomic<bool> reached_end{false};
  weft::run(
      [&] {
        auto inner_task = weft::create_task([] { return std::string("done"); });
        auto task = weft::create_task([&, inner_task] {
          weft::wait_for(inner_task, 100.0);
          weft::sleep(1.0);
          reached_end = true;
        });
        EXPECT_FALSE(task.done());
        weft::sleep(0.0);  // run the task
        task.cancel();
        EXPECT_THROW(weft::await(task), weft::CancelledError);
        EXPECT_TRUE(inner_task.done());
        // On one worker the inner task ends in the pass before wait_for even waits (asyncio's
        // case); on two, wait_for may already wait on it when the cancel lands, and then passes
        // the cancellation on to it, as asyncio does in that case.
        if (workers() == 1 || !inner_task.cancelled()) {
          EXPECT_EQ(weft::await(inner_task), "done");
        }
      },
      virtual_time());
  EXPECT_FALSE(reached_end);
}

INSTANTIATE_TEST_SUITE_P(Workers, AsyncioWaitForTest, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

class WaitForShieldTests : public AsyncioWaitForTest {};

TEST_P(WaitForShieldTests, test_zero_timeout) {
  weft::run(
      [&] {
        auto task = weft::create_task([] {
          weft::sleep(0.01);
          return std::string("done");
        });
        auto shielded_task = weft::shield(task);
        EXPECT_THROW(weft::wait_for(shielded_task, 0.0), weft::TimeoutError);
        // The task runs on in the background.
        EXPECT_FALSE(task.done());
        EXPECT_FALSE(task.cancelled());
        EXPECT_TRUE(shielded_task.cancelled());
        weft::sleep(0.1);
        EXPECT_TRUE(task.done());
      },
      virtual_time());
}

TEST_P(WaitForShieldTests, test_none_timeout) {
  weft::run(
      [&] {
        auto task = weft::create_task([] {
          weft::sleep(0.1);
          return std::string("done");
        });
        weft::wait_for(weft::shield(task), std::nullopt);
        EXPECT_TRUE(task.done());
        EXPECT_EQ(weft::await(task), "done");
      },
      virtual_time());
}

TEST_P(WaitForShieldTests, test_shielded_timeout) {
  weft::run(
      [&] {
        auto task = weft::create_task([] {
          weft::sleep(0.1);
          return std::string("done");
        });
        EXPECT_THROW(weft::wait_for(weft::shield(task), 0.01), weft::TimeoutError);
        EXPECT_FALSE(task.done());
        EXPECT_FALSE(task.cancelled());
        EXPECT_EQ(weft::await(task), "done");
      },
      virtual_time());
}

INSTANTIATE_TEST_SUITE_P(Workers, WaitForShieldTests, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

}  // namespace
