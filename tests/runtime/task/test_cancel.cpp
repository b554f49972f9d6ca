// Task.cancel: CancelledError at the suspension point with the message, the awaited future or
// task cancelled with it, suppression, cancelled() only when CancelledError propagated,
// cancelling()/uncancel(), cancellation before the first step, from another thread, and
// self-cancellation. Each expectation was checked against CPython 3.11's asyncio.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;
using Entries = std::vector<std::string>;

TEST(TaskCancel, TheSpecCancelMeExampleRunsItsHandlersInOrder) {
  Log log;
  weft::run(
      [&] {
        auto task = weft::create_task([&] {
          log.add("cancel_me(): before sleep");
          try {
            weft::sleep(3600.0);
          } catch (const weft::CancelledError&) {
            log.add("cancel_me(): cancel sleep");
            log.add("cancel_me(): after sleep");
            throw;
          }
          log.add("cancel_me(): after sleep");
        });
        weft::sleep(1.0);
        task.cancel();
        try {
          weft::await(task);
        } catch (const weft::CancelledError&) {
          log.add("main(): cancel_me is cancelled now");
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Entries{"cancel_me(): before sleep", "cancel_me(): cancel sleep",
                     "cancel_me(): after sleep", "main(): cancel_me is cancelled now"}));
}

TEST(TaskCancel, CancelledErrorIsThrownAtTheSuspensionPointWithTheMessage) {
  weft::run(
      [] {
        std::string seen = "<none>";
        auto t = weft::create_task([&] {
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError& e) {
            seen = e.message();
            throw;
          }
        });
        weft::sleep(0.0);
        EXPECT_TRUE(t.cancel("stop now"));
        EXPECT_FALSE(t.done());  // cancel() only requests it
        try {
          weft::await(t);
          ADD_FAILURE() << "await returned";
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "stop now");
        }
        EXPECT_EQ(seen, "stop now");
        EXPECT_TRUE(t.cancelled());
        EXPECT_TRUE(t.done());
        // The sleep was interrupted: the clock did not run to its deadline.
        EXPECT_EQ(weft::get_running_loop().time(), 0.0);
      },
      deterministic());
}

TEST(TaskCancel, ResultAndExceptionOfACancelledTaskRaiseCancelledError) {
  weft::run(
      [] {
        auto t = weft::create_task([] { weft::sleep(10.0); });
        weft::sleep(0.0);
        t.cancel("gone");
        EXPECT_THROW(weft::await(t), weft::CancelledError);
        try {
          t.result();
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "gone");
        }
        EXPECT_THROW(t.exception(), weft::CancelledError);
      },
      deterministic());
}

TEST(TaskCancel, TheFutureTheTaskAwaitsIsCancelledWithTheMessage) {
  weft::run(
      [] {
        weft::Future<int> f;
        auto t = weft::create_task([f] { return weft::await(f); });
        weft::sleep(0.0);
        t.cancel("bye");
        try {
          weft::await(t);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "bye");
        }
        EXPECT_TRUE(f.cancelled());
        EXPECT_TRUE(t.cancelled());
      },
      deterministic());
}

TEST(TaskCancel, CancellingAnOuterTaskCancelsTheInnerTaskItAwaits) {
  weft::run(
      [] {
        auto inner = weft::create_task([] { weft::sleep(10.0); });
        auto outer = weft::create_task([inner] { weft::await(inner); });
        weft::sleep(0.0);
        EXPECT_TRUE(outer.cancel("m"));
        try {
          weft::await(outer);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "m");
        }
        EXPECT_TRUE(inner.cancelled());
        EXPECT_TRUE(outer.cancelled());
      },
      deterministic());
}

TEST(TaskCancel, CancellationReachesAFutureAwaitedThroughInlineCoroutines) {
  weft::run(
      [] {
        weft::Future<int> f;
        auto t = weft::create_task([f] {
          return weft::await(
              weft::coro([f] { return weft::await(weft::coro([f] { return weft::await(f); })); }));
        });
        weft::sleep(0.0);
        t.cancel("deep");
        try {
          weft::await(t);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "deep");
        }
        EXPECT_TRUE(f.cancelled());
      },
      deterministic());
}

TEST(TaskCancel, ATaskMaySuppressCancellationAndReturnAValue) {
  weft::run(
      [] {
        auto t = weft::create_task([] {
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError&) {
            return 7;
          }
          return 0;
        });
        weft::sleep(0.0);
        EXPECT_TRUE(t.cancel());
        EXPECT_EQ(weft::await(t), 7);
        EXPECT_FALSE(t.cancelled());
        EXPECT_EQ(t.result(), 7);
        EXPECT_EQ(t.cancelling(), 1);  // CPython 3.11: the request stays counted
      },
      deterministic());
}

TEST(TaskCancel, AfterSuppressingATaskAwaitsNormallyAgain) {
  weft::run(
      [] {
        auto t = weft::create_task([] {
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError&) {
          }
          weft::sleep(1.0);  // not interrupted: the request was consumed
          return std::string("ok");
        });
        weft::sleep(0.0);
        t.cancel();
        EXPECT_EQ(weft::await(t), "ok");
        EXPECT_DOUBLE_EQ(weft::get_running_loop().time(), 1.0);
      },
      deterministic());
}

TEST(TaskCancel, RaisingAnotherErrorFromTheHandlerIsNotCancellation) {
  weft::run(
      [] {
        auto t = weft::create_task([] {
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError&) {
            throw std::domain_error("instead");
          }
        });
        weft::sleep(0.0);
        t.cancel();
        EXPECT_THROW(weft::await(t), std::domain_error);
        EXPECT_FALSE(t.cancelled());
        EXPECT_TRUE(t.done());
      },
      deterministic());
}

TEST(TaskCancel, CancelOnADoneTaskReturnsFalse) {
  weft::run(
      [] {
        auto t = weft::create_task([] { return 1; });
        weft::await(t);
        EXPECT_FALSE(t.cancel());
        EXPECT_FALSE(t.cancelled());
        EXPECT_EQ(t.cancelling(), 0);
        EXPECT_EQ(t.result(), 1);
      },
      deterministic());
}

TEST(TaskCancel, CancelOnACancelledTaskReturnsFalse) {
  weft::run(
      [] {
        auto t = weft::create_task([] { weft::sleep(10.0); });
        weft::sleep(0.0);
        t.cancel();
        EXPECT_THROW(weft::await(t), weft::CancelledError);
        EXPECT_FALSE(t.cancel());
      },
      deterministic());
}

TEST(TaskCancel, CancellingCountsRequestsAndUncancelTakesThemBack) {
  weft::run(
      [] {
        auto t = weft::create_task([] { weft::sleep(100.0); });
        weft::sleep(0.0);
        EXPECT_EQ(t.cancelling(), 0);
        EXPECT_TRUE(t.cancel());
        EXPECT_TRUE(t.cancel());
        EXPECT_EQ(t.cancelling(), 2);
        EXPECT_EQ(t.uncancel(), 1);
        EXPECT_EQ(t.cancelling(), 1);
        // The request itself stands: the task still ends cancelled.
        EXPECT_THROW(weft::await(t), weft::CancelledError);
        EXPECT_TRUE(t.cancelled());
      },
      deterministic());
}

TEST(TaskCancel, UncancelNeverGoesBelowZero) {
  weft::run(
      [] {
        auto t = weft::create_task([] {});
        EXPECT_EQ(t.uncancel(), 0);
        EXPECT_EQ(t.cancelling(), 0);
        weft::await(t);
      },
      deterministic());
}

TEST(TaskCancel, CancelledBeforeItsFirstStepTheBodyNeverRuns) {
  weft::run(
      [] {
        bool ran = false;
        auto t = weft::create_task([&] { ran = true; });
        EXPECT_TRUE(t.cancel("early"));
        try {
          weft::await(t);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "early");
        }
        EXPECT_FALSE(ran);
        EXPECT_TRUE(t.cancelled());
        EXPECT_EQ(weft::getcoroutinestate(t.get_coro()), weft::CORO_CLOSED);
      },
      deterministic());
}

TEST(TaskCancel, TwoCancelsBeforeTheFirstStepDeliverOneErrorWithTheLastMessage) {
  weft::run(
      [] {
        auto t = weft::create_task([] {});
        EXPECT_TRUE(t.cancel("1"));
        EXPECT_TRUE(t.cancel("2"));
        EXPECT_EQ(t.cancelling(), 2);
        try {
          weft::await(t);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "2");
        }
        EXPECT_FALSE(t.cancel());
        EXPECT_EQ(t.cancelling(), 2);
      },
      deterministic());
}

TEST(TaskCancel, SelfCancelInterruptsTheNextSleepAtOnce) {
  weft::run(
      [] {
        std::string message;
        double at = -1;
        auto t = weft::create_task([&] {
          weft::current_task().cancel("self");
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError& e) {
            message = e.message();
            at = weft::get_running_loop().time();
            throw;
          }
        });
        EXPECT_THROW(weft::await(t), weft::CancelledError);
        EXPECT_EQ(message, "self");
        EXPECT_EQ(at, 0.0);
        EXPECT_TRUE(t.cancelled());
      },
      deterministic());
}

TEST(TaskCancel, SelfCancelCancelsTheFutureAwaitedNext) {
  weft::run(
      [] {
        weft::Future<int> f;
        auto t = weft::create_task([f] {
          weft::current_task().cancel("sf");
          return weft::await(f);
        });
        try {
          weft::await(t);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "sf");
        }
        EXPECT_TRUE(f.cancelled());
      },
      deterministic());
}

TEST(TaskCancel, CancelRequestedWhileTheTaskRunsIsDeliveredAtItsNextAwait) {
  // Another worker cancels while the task is busy (not suspended): the request waits for the
  // next suspension point.
  std::atomic<bool> busy{false};
  std::atomic<bool> cancel_sent{false};
  weft::run(
      [&] {
        auto t = weft::create_task([&] {
          busy = true;
          while (!cancel_sent.load()) std::this_thread::yield();
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError& e) {
            return e.message();
          }
          return std::string("not cancelled");
        });
        // Spin rather than sleep: main's timer would live on this worker, which `t` may hold.
        while (!busy.load()) std::this_thread::yield();
        EXPECT_TRUE(t.cancel("while running"));
        cancel_sent = true;
        EXPECT_EQ(weft::await(t), "while running");
      },
      weft::RunOptions{.workers = 2});
}

TEST(TaskCancel, CancelFromAForeignThreadWakesTheTask) {
  weft::Runtime rt({.workers = 2});
  std::atomic<bool> waiting{false};
  auto f = weft::run_coroutine_threadsafe(
      [&] {
        weft::Future<int> never;
        waiting = true;
        try {
          weft::await(never);
        } catch (const weft::CancelledError& e) {
          return e.message();
        }
        return std::string("not cancelled");
      },
      rt);
  ASSERT_TRUE(weft_rt_test::eventually([&] { return waiting.load(); }));
  weft::Task<std::string> task = f.task();
  EXPECT_TRUE(task.cancel("from outside"));
  EXPECT_EQ(f.result(), "from outside");
}

TEST(TaskCancel, ACancelledAwaitInsideATryAwaitsAgainCleanly) {
  // The cancelled future is not awaited again; a new one works (no stale wake-up resumes the
  // task at the wrong point).
  weft::run(
      [] {
        weft::Future<int> first;
        weft::Future<int> second;
        auto t = weft::create_task([first, second] {
          try {
            weft::await(first);
          } catch (const weft::CancelledError&) {
          }
          return weft::await(second);
        });
        weft::sleep(0.0);
        t.cancel();
        weft::sleep(0.0);
        weft::sleep(0.0);
        EXPECT_FALSE(t.done());
        second.set_result(9);
        EXPECT_EQ(weft::await(t), 9);
        EXPECT_TRUE(first.cancelled());
      },
      deterministic());
}

// Two cancel() calls on a waiting task: its coroutine sees the first message, whether it waits
// on a sleep or on a future (asyncio 3.11+: the first cancels what it waits on, the second
// cannot). cpython/cancel_message_scenarios.py, .out beside it.
void two_cancels(Log& log, const std::string& what, std::function<void()> wait) {
  auto t = weft::create_task([&log, wait] {
    try {
      wait();
    } catch (const weft::CancelledError& e) {
      log.add("coroutine saw: " + e.message());
      throw;
    }
  });
  weft::sleep(0.0);  // t waits now
  bool first = t.cancel("first");
  bool second = t.cancel("second");
  log.add(what + " cancel first: " + (first ? "True" : "False") +
          " cancel second: " + (second ? "True" : "False"));
  try {
    weft::await(t);
  } catch (const weft::CancelledError& e) {
    log.add(what + " awaiting the task raised: " + e.message() +
            " cancelling: " + std::to_string(t.cancelling()));
  }
}

TEST(TaskCancel, FirstCancelMessageWinsWhileTheTaskWaits) {
  Log log;
  weft::run(
      [&] {
        two_cancels(log, "sleep", [] { weft::sleep(10.0); });
        weft::Future<> fut;
        two_cancels(log, "future", [fut] { weft::await(fut); });
        log.add(std::string("the awaited future: ") + (fut.cancelled() ? "True" : "False"));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Entries{"sleep cancel first: True cancel second: True", "coroutine saw: first",
                     "sleep awaiting the task raised: first cancelling: 2",
                     "future cancel first: True cancel second: True", "coroutine saw: first",
                     "future awaiting the task raised: first cancelling: 2",
                     "the awaited future: True"}));
}

// The same on several workers, where the woken task may already run (and re-raise) between the
// two requests: the coroutine sees "first" every time.
TEST(TaskCancel, FirstCancelMessageWinsOnManyWorkersStress) {
  std::atomic<int> wrong{0};
  const long rounds = weft_rt_test::scaled(20000);
  weft::run(
      [&] {
        for (long round = 0; round < rounds; ++round) {
          weft::Future<> fut;
          bool on_sleep = round % 2 == 0;
          auto t = weft::create_task([&wrong, fut, on_sleep] {
            try {
              if (on_sleep) {
                weft::sleep(10.0);
              } else {
                weft::await(fut);
              }
            } catch (const weft::CancelledError& e) {
              if (e.message() != "first") wrong.fetch_add(1);
              throw;
            }
          });
          // Idle: t's step has ended and it waits (a cancel during the step is a running
          // task's, where asyncio too keeps the last message).
          while (t.core().run_state() != weft::detail::TaskState::idle) weft::sleep(0.0);
          t.cancel("first");
          t.cancel("second");
          try {
            weft::await(t);
          } catch (const weft::CancelledError&) {
          }
        }
      },
      weft::RunOptions{.workers = 4});
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
