// wait_for: a value in time comes back; on timeout the inner is cancelled, waited for until it
// really is (its cleanup, even one that sleeps, runs before TimeoutError is seen) and
// TimeoutError is raised; an exception raised during that cancellation propagates instead;
// cancelling the waiting task cancels the inner and raises CancelledError (not TimeoutError);
// nullopt waits forever; timeout <= 0 gives a done task's result, and cancels a pending one.
// Each scenario logs what tests/asyncio/compose/cpython/wait_for_scenarios.py prints.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::at;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;
using weft_compose_test::state_of;

enum class OnCancel { raise, swallow, fail };

// Logs its start, sleeps `delay` and returns `value`; cancelled, it logs, sleeps `cleanup`
// seconds of cleanup, then re-raises, returns -1 or raises ValueError.
weft::Coroutine<int> inner(Log& log, double delay = 10.0, int value = 1, double cleanup = 0,
                           OnCancel on_cancel = OnCancel::raise) {
  return weft::coro([&log, delay, value, cleanup, on_cancel] {
    log.add(at("inner start"));
    try {
      weft::sleep(delay);
    } catch (const weft::CancelledError&) {
      log.add(at("inner cancelled"));
      if (cleanup > 0) {
        weft::sleep(cleanup);
        log.add(at("inner cleanup done"));
      }
      if (on_cancel == OnCancel::swallow) return -1;
      if (on_cancel == OnCancel::fail) throw weft::ValueError("during cancel");
      throw;
    }
    log.add(at("inner end"));
    return value;
  });
}

// Awaits wait_for(aw, timeout) and logs what came of it.
template <class A, class T>
void attempt(Log& log, A&& aw, T timeout) {
  try {
    int value = weft::wait_for(std::forward<A>(aw), timeout);
    log.add(at("got " + std::to_string(value)));
  } catch (...) {
    log.add(at("caught " + name_of(std::current_exception())));
  }
}

TEST(WaitFor, AValueReturnedInTimeComesBack) {
  Log log;
  weft::run([&] { attempt(log, inner(log, 1.0, 7), 2.0); }, deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner start at 0", "inner end at 1", "got 7 at 1"}));
}

TEST(WaitFor, OnTimeoutTheInnerIsCancelledAndTimeoutErrorRaised) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task(inner(log));
        attempt(log, t, 1.0);
        log.add("inner " + state_of(t));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner start at 0", "inner cancelled at 1",
                                  "caught TimeoutError at 1", "inner CancelledError"}));
}

TEST(WaitFor, TheInnerTasksCleanupEndsBeforeTimeoutErrorIsSeen) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task(inner(log, 10.0, 1, 0.5));
        attempt(log, t, 1.0);
        log.add("inner " + state_of(t));  // already done: wait_for waited for it
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"inner start at 0", "inner cancelled at 1", "inner cleanup done at 1.5",
                   "caught TimeoutError at 1.5", "inner CancelledError"}));
}

TEST(WaitFor, TheInnerCoroutinesCleanupEndsBeforeTimeoutErrorIsSeen) {
  Log log;
  weft::run([&] { attempt(log, inner(log, 10.0, 1, 0.5), 1.0); }, deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner start at 0", "inner cancelled at 1",
                                  "inner cleanup done at 1.5", "caught TimeoutError at 1.5"}));
}

TEST(WaitFor, AnExceptionRaisedDuringTheCancellationPropagates) {
  Log log;
  weft::run([&] { attempt(log, inner(log, 10.0, 1, 0, OnCancel::fail), 1.0); }, deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner start at 0", "inner cancelled at 1",
                                  "caught ValueError: during cancel at 1"}));
}

TEST(WaitFor, CancellingTheWaitingTaskCancelsTheInnerTask) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task(inner(log));
        auto w = weft::create_task([&, t] {
          attempt(log, t, 10.0);
          throw weft::CancelledError();  // attempt() logged it; keep the task cancelled
        });
        weft::sleep(1.0);
        w.cancel();
        weft::sleep(0.5);
        log.add("inner " + state_of(t) + ", waiter " + state_of(w));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"inner start at 0", "inner cancelled at 1", "caught CancelledError at 1",
                   "inner CancelledError, waiter CancelledError"}));
}

TEST(WaitFor, CancellingTheWaitingTaskCancelsTheInnerCoroutine) {
  Log log;
  weft::run(
      [&] {
        auto w = weft::create_task([&] { attempt(log, inner(log, 10.0, 1, 0.5), 10.0); });
        weft::sleep(1.0);
        w.cancel();
        weft::await(w);
        log.add(at("waiter " + state_of(w)));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"inner start at 0", "inner cancelled at 1", "inner cleanup done at 1.5",
                   "caught CancelledError at 1.5", "waiter ok at 1.5"}));
}

TEST(WaitFor, NoTimeoutWaitsForever) {
  Log log;
  weft::run(
      [&] {
        attempt(log, inner(log, 3600.0, 1), std::nullopt);
        attempt(log, inner(log, 3600.0, 2), std::optional<double>());
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner start at 0", "inner end at 3600", "got 1 at 3600",
                                  "inner start at 3600", "inner end at 7200", "got 2 at 7200"}));
}

TEST(WaitFor, AZeroOrNegativeTimeoutOnADoneTaskReturnsItsResult) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task(inner(log, 1.0, 5));
        weft::await(t);
        attempt(log, t, 0.0);
        attempt(log, t, -1.0);
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"inner start at 0", "inner end at 1", "got 5 at 1", "got 5 at 1"}));
}

TEST(WaitFor, AZeroTimeoutOnAPendingTaskCancelsItAndRaisesTimeoutError) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task(inner(log, 10.0, 1, 0.5));
        weft::sleep(0);
        attempt(log, t, 0.0);
        log.add("inner " + state_of(t));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"inner start at 0", "inner cancelled at 0", "inner cleanup done at 0.5",
                   "caught TimeoutError at 0.5", "inner CancelledError"}));
}

TEST(WaitFor, AZeroTimeoutOnACoroutineCancelsItBeforeItStarts) {
  Log log;
  weft::run([&] { attempt(log, inner(log), 0.0); }, deterministic());
  EXPECT_EQ(log.entries(), (Lines{"caught TimeoutError at 0"}));
}

TEST(WaitFor, AnInnerThatSuppressesTheCancellationGivesItsValue) {
  Log log;
  weft::run([&] { attempt(log, inner(log, 10.0, 1, 0, OnCancel::swallow), 1.0); }, deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner start at 0", "inner cancelled at 1", "got -1 at 1"}));
}

TEST(WaitFor, AChronoDurationIsATimeout) {
  Log log;
  weft::run([&] { attempt(log, inner(log), std::chrono::milliseconds(1500)); }, deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"inner start at 0", "inner cancelled at 1.5", "caught TimeoutError at 1.5"}));
}

// asyncio's None: a Task<void> or Future<void> gives Value<void> (std::monostate) as awaiting it
// does, on either path (a deadline, or timeout <= 0); a coroutine of void gives void.
TEST(WaitFor, AVoidTaskFutureOrCoroutineGivesNothingBack) {
  Log log;
  weft::run(
      [&] {
        auto work = [] { weft::sleep(1.0); };
        auto t = weft::create_task(work);
        std::monostate from_task = weft::wait_for(t, 2.0);
        log.add(at("task: None"));
        std::monostate from_done = weft::wait_for(t, 0.0);
        log.add(at("done task, timeout 0: None"));
        weft::Future<void> f;
        weft::get_running_loop().call_later(1.0, [f]() mutable { f.set_result(); });
        std::monostate from_future = weft::wait_for(f, 2.0);
        log.add(at("future: None"));
        static_assert(std::is_void_v<decltype(weft::wait_for(weft::coro(work), 2.0))>);
        weft::wait_for(weft::coro(work), 2.0);
        log.add(at("coroutine: None"));
        (void)from_task, (void)from_done, (void)from_future;
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"task: None at 1", "done task, timeout 0: None at 1",
                                  "future: None at 2", "coroutine: None at 3"}));
}

// asyncio 3.12+ (cpython/shield_wait_for_scenarios.py, .out beside it): a timeout <= 0 on a
// coroutine cancels its task before its first step, so the body never runs -- on any number of
// workers, where another worker could otherwise steal the new task and start it first. The
// TimeoutError has no message and the CancelledError as its cause.
TEST(WaitFor, ANonPositiveTimeoutNeverStartsTheCoroutineOnAnyNumberOfWorkers) {
  std::atomic<int> bodies_run{0};
  std::atomic<int> timeouts{0};
  for (long round = 0; round < weft_compose_test::scaled(400); ++round) {
    weft::run(
        [&] {
          for (double timeout : {0.0, -1.0}) {
            try {
              weft::wait_for(weft::coro([&] {
                               bodies_run.fetch_add(1);
                               return 1;
                             }),
                             timeout);
            } catch (const weft::TimeoutError& e) {
              EXPECT_STREQ(e.what(), "");
              if (!e.cause()) {
                ADD_FAILURE() << "TimeoutError without a cause";
                continue;
              }
              try {
                std::rethrow_exception(e.cause());
              } catch (const weft::CancelledError&) {
                timeouts.fetch_add(1);
              } catch (...) {
                ADD_FAILURE() << "the cause is not CancelledError";
              }
            }
          }
        },
        weft::RunOptions{.workers = 4});
  }
  EXPECT_EQ(bodies_run.load(), 0);
  EXPECT_EQ(timeouts.load(), 2 * weft_compose_test::scaled(400));
}

TEST(WaitFor, TheTimeoutErrorHasNoMessageAndIsRaisedFromTheCancelledError) {
  Log log;
  weft::run(
      [&] {
        try {
          weft::wait_for(weft::coro([] { weft::sleep(1.0); }), 0.5);
        } catch (const weft::TimeoutError& e) {
          log.add(std::string("args=(") + e.what() + ") cause: " + name_of(e.cause()));
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"args=() cause: CancelledError"}));
}

}  // namespace
