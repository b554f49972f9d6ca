// run_coroutine_threadsafe: a concurrent.futures-like handle for a foreign thread -- result()
// with and without a timeout, exception(), cancel() reaching the coroutine and waking blocked
// threads at once, done(), done callbacks run in the completing (or cancelling) thread, shared
// state between copies, and asyncio's rules for the task's unretrieved exception.
#include <gtest/gtest.h>

#include <type_traits>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::eventually;
using weft_rt_test::WarningCapture;

TEST(RunCoroutineThreadsafe, TheSpecExampleReturnsSleepsResult) {
  // coro = asyncio.sleep(1, result=3); future = run_coroutine_threadsafe(coro, loop)
  weft::Runtime rt({.workers = 2, .virtual_time = true});
  auto future = weft::run_coroutine_threadsafe([] { return weft::sleep(1.0, 3); }, rt);
  EXPECT_EQ(future.result(std::chrono::seconds(30)), 3);
  EXPECT_TRUE(future.done());
  EXPECT_FALSE(future.cancelled());
}

TEST(RunCoroutineThreadsafe, AcceptsACoroutineObject) {
  weft::Runtime rt({.workers = 1});
  auto future = weft::run_coroutine_threadsafe(weft::coro([](int x) { return x + 1; }, 1), rt);
  EXPECT_EQ(future.result(), 2);
}

TEST(RunCoroutineThreadsafe, ResultWithATimeoutThrowsTimeoutErrorWhileItRuns) {
  weft::Runtime rt({.workers = 2});
  weft::Future<int> gate;
  auto future = weft::run_coroutine_threadsafe([gate] { return weft::await(gate); }, rt);
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(future.result(std::chrono::milliseconds(20)), weft::TimeoutError);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
  EXPECT_THROW(future.exception(std::chrono::milliseconds(1)), weft::TimeoutError);
  EXPECT_FALSE(future.done());
  gate.set_result(8);
  EXPECT_EQ(future.result(std::chrono::seconds(30)), 8);
}

TEST(RunCoroutineThreadsafe, ExceptionReturnsTheCoroutinesException) {
  weft::Runtime rt({.workers = 2});
  auto future =
      weft::run_coroutine_threadsafe([]() -> int { throw std::invalid_argument("bad input"); }, rt);
  std::exception_ptr error = future.exception();
  ASSERT_NE(error, nullptr);
  try {
    std::rethrow_exception(error);
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad input");
  }
  EXPECT_THROW(future.result(), std::invalid_argument);
  EXPECT_TRUE(future.done());
}

TEST(RunCoroutineThreadsafe, ExceptionIsNullForASuccess) {
  weft::Runtime rt({.workers = 1});
  auto future = weft::run_coroutine_threadsafe([] { return 1; }, rt);
  EXPECT_EQ(future.exception(), nullptr);
}

TEST(RunCoroutineThreadsafe, CancelCancelsTheTaskAndTheCoroutineSeesCancelledError) {
  weft::Runtime rt({.workers = 2});
  std::atomic<bool> waiting{false};
  std::atomic<bool> saw_cancel{false};
  auto future = weft::run_coroutine_threadsafe(
      [&] {
        waiting = true;
        try {
          weft::sleep(3600.0);
        } catch (const weft::CancelledError&) {
          saw_cancel = true;
          throw;
        }
        return 0;
      },
      rt);
  ASSERT_TRUE(eventually([&] { return waiting.load(); }));
  EXPECT_TRUE(future.cancel());
  EXPECT_TRUE(future.cancelled());
  EXPECT_TRUE(future.done());
  EXPECT_THROW(future.result(), weft::concurrent::CancelledError);
  EXPECT_THROW(future.exception(), weft::concurrent::CancelledError);
  ASSERT_TRUE(eventually([&] { return future.task().done(); }));
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_TRUE(future.task().cancelled());
  EXPECT_FALSE(future.cancel());  // already done
}

TEST(RunCoroutineThreadsafe, CancelAfterCompletionReturnsFalseAndKeepsTheResult) {
  weft::Runtime rt({.workers = 1});
  auto future = weft::run_coroutine_threadsafe([] { return 4; }, rt);
  EXPECT_EQ(future.result(), 4);
  EXPECT_FALSE(future.cancel());
  EXPECT_FALSE(future.cancelled());
  EXPECT_EQ(future.result(), 4);
}

TEST(RunCoroutineThreadsafe, ATaskCancelledInsideTheRuntimeCancelsTheFuture) {
  weft::Runtime rt({.workers = 2});
  std::atomic<bool> waiting{false};
  auto future = weft::run_coroutine_threadsafe(
      [&] {
        waiting = true;
        weft::sleep(3600.0);
      },
      rt);
  ASSERT_TRUE(eventually([&] { return waiting.load(); }));
  weft::Task<void> task = future.task();
  task.cancel();
  EXPECT_THROW(future.result(std::chrono::seconds(30)), weft::concurrent::CancelledError);
  EXPECT_TRUE(future.cancelled());
}

TEST(RunCoroutineThreadsafe, DoneIsFalseUntilTheCoroutineEnds) {
  weft::Runtime rt({.workers = 2});
  weft::Future<> gate;
  auto future = weft::run_coroutine_threadsafe([gate] { weft::await(gate); }, rt);
  EXPECT_FALSE(future.done());
  gate.set_result();
  future.result(std::chrono::seconds(30));
  EXPECT_TRUE(future.done());
}

TEST(RunCoroutineThreadsafe, AddDoneCallbackRunsOnceWhenDoneAndAtOnceIfAlreadyDone) {
  weft::Runtime rt({.workers = 2});
  weft::Future<> gate;
  auto future = weft::run_coroutine_threadsafe(
      [gate] {
        weft::await(gate);
        return 6;
      },
      rt);
  std::atomic<int> calls{0};
  std::atomic<int> value{0};
  future.add_done_callback([&](weft::ConcurrentFuture<int>& f) {
    value = f.result();
    ++calls;
  });
  EXPECT_EQ(calls.load(), 0);
  gate.set_result();
  EXPECT_EQ(future.result(), 6);
  ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
  EXPECT_EQ(value.load(), 6);
  // concurrent.futures: a callback added to a done future runs immediately, in this thread.
  bool ran_here = false;
  future.add_done_callback([&](weft::ConcurrentFuture<int>&) { ran_here = true; });
  EXPECT_TRUE(ran_here);
  EXPECT_EQ(calls.load(), 1);
}

TEST(RunCoroutineThreadsafe, ResultFromInsideATaskIsRefusedRatherThanDeadlocking) {
  weft::Runtime rt({.workers = 1});
  auto outer = weft::run_coroutine_threadsafe(
      [&rt] {
        auto inner = weft::run_coroutine_threadsafe([] { return 1; }, rt);
        try {
          inner.result();
          return std::string("blocked a worker");
        } catch (const weft::RuntimeError& e) {
          return std::string(e.what());
        }
      },
      rt);
  EXPECT_NE(outer.result(std::chrono::seconds(30)).find("would stall its worker"),
            std::string::npos);
}

TEST(RunCoroutineThreadsafe, ManyWaitersOnOneFutureAllWakeUp) {
  weft::Runtime rt({.workers = 2});
  weft::Future<> gate;
  auto future = weft::run_coroutine_threadsafe(
      [gate] {
        weft::await(gate);
        return 10;
      },
      rt);
  std::atomic<int> sum{0};
  std::vector<std::thread> waiters;
  for (int i = 0; i < 6; ++i) {
    waiters.emplace_back([&] { sum += future.result(std::chrono::seconds(30)); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  gate.set_result();
  for (auto& w : waiters) w.join();
  EXPECT_EQ(sum.load(), 60);
}

TEST(RunCoroutineThreadsafe, CancelWakesAThreadBlockedInResultWhileTheTaskStillRuns) {
  // concurrent.futures: cancel() makes the future cancelled at once; the task only gets a
  // request (which cancels the future it awaits), and this coroutine then waits for `gate`.
  weft::Runtime rt({.workers = 2});
  weft::Future<> never;
  weft::Future<> gate;
  std::atomic<bool> waiting{false};
  auto future = weft::run_coroutine_threadsafe(
      [&waiting, never, gate] {
        waiting = true;
        try {
          weft::await(never);
        } catch (const weft::CancelledError&) {
          weft::current_task().uncancel();  // ignores the request
        }
        weft::await(gate);
        return 1;
      },
      rt);
  ASSERT_TRUE(eventually([&] { return waiting.load(); }));
  std::atomic<int> outcome{0};  // 1 = CancelledError, 2 = anything else
  std::thread blocked([&] {
    try {
      future.result();
      outcome = 2;
    } catch (const weft::concurrent::CancelledError&) {
      outcome = 1;
    } catch (...) {
      outcome = 2;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(outcome.load(), 0);
  EXPECT_TRUE(future.cancel());
  blocked.join();
  EXPECT_EQ(outcome.load(), 1);
  EXPECT_TRUE(future.cancelled());
  EXPECT_FALSE(future.task().done());  // the task itself is not finished
  EXPECT_THROW(future.exception(std::chrono::seconds(0)), weft::concurrent::CancelledError);
  gate.set_result();
  ASSERT_TRUE(eventually([&] { return future.task().done(); }));
  EXPECT_EQ(future.task().result(), 1);
  // The task's result does not replace the cancellation.
  EXPECT_TRUE(future.cancelled());
  EXPECT_THROW(future.result(), weft::concurrent::CancelledError);
}

TEST(RunCoroutineThreadsafe, CancelRunsTheDoneCallbacksOnceInTheCancellingThread) {
  weft::Runtime rt({.workers = 2});
  weft::Future<> gate;
  auto future = weft::run_coroutine_threadsafe([gate] { weft::await(gate); }, rt);
  std::atomic<int> calls{0};
  std::thread::id ran_on;
  bool saw_cancelled = false;
  future.add_done_callback([&](weft::ConcurrentFuture<void>& f) {
    ran_on = std::this_thread::get_id();
    saw_cancelled = f.cancelled();
    ++calls;
  });
  EXPECT_EQ(calls.load(), 0);
  EXPECT_TRUE(future.cancel());
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(saw_cancelled);
  ASSERT_TRUE(eventually([&] { return future.task().done(); }));
  EXPECT_TRUE(future.task().cancelled());
  // The task's end (on the runtime) does not run them a second time.
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(calls.load(), 1);
}

TEST(RunCoroutineThreadsafe, CopiesShareOneState) {
  weft::Runtime rt({.workers = 2});
  weft::Future<> gate;
  auto future = weft::run_coroutine_threadsafe([gate] { weft::await(gate); }, rt);
  weft::ConcurrentFuture<void> copy = future;
  EXPECT_TRUE(copy.cancel());
  EXPECT_TRUE(future.cancelled());
  EXPECT_TRUE(future.done());
  EXPECT_FALSE(future.cancel());
}

TEST(RunCoroutineThreadsafe, DroppingTheFutureLeavesTheTaskRunning) {
  weft::Runtime rt({.workers = 2});
  weft::Future<> gate;
  std::atomic<bool> finished{false};
  {
    auto future = weft::run_coroutine_threadsafe(
        [gate, &finished] {
          weft::await(gate);
          finished = true;
        },
        rt);
  }
  gate.set_result();
  EXPECT_TRUE(eventually([&] { return finished.load(); }));
}

TEST(RunCoroutineThreadsafe, AFailureIsNotReportedAsUnretrievedWhenTheFutureTookIt) {
  // asyncio's chain reads the task's exception to copy it, so the task never reports it; the
  // concurrent future does not report either (concurrent.futures has no such report).
  WarningCapture warnings;
  {
    weft::Runtime rt({.workers = 2});
    auto future =
        weft::run_coroutine_threadsafe([]() -> int { throw std::runtime_error("dropped"); }, rt);
    while (!future.done()) std::this_thread::yield();
  }
  EXPECT_TRUE(warnings.of("ERROR").empty());
}

TEST(RunCoroutineThreadsafe, AFailureAfterTheFutureWasCancelledIsReportedForTheTask) {
  // Cancelled first, the chain copies nothing: the task's own exception stays unretrieved.
  WarningCapture warnings;
  {
    weft::Runtime rt({.workers = 2});
    weft::Future<> gate;
    std::atomic<bool> waiting{false};
    auto future = weft::run_coroutine_threadsafe(
        [gate, &waiting]() -> int {
          waiting = true;
          try {
            weft::await(gate);
          } catch (const weft::CancelledError&) {
          }
          throw std::runtime_error("after cancel");
        },
        rt);
    ASSERT_TRUE(eventually([&] { return waiting.load(); }));
    EXPECT_TRUE(future.cancel());
    ASSERT_TRUE(eventually([&] { return future.task().done(); }));
  }
  auto errors = warnings.of("ERROR");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("after cancel"), std::string::npos) << errors[0].message;
}

// concurrent.futures.CancelledError is not asyncio.CancelledError: the submission's future
// raises the former, the coroutine inside saw the latter; and, as in Python (an Exception there),
// the former is a std::exception (tests/runtime/task/cpython/message_scenarios.py, .out beside).
TEST(RunCoroutineThreadsafe, ConcurrentCancelledErrorIsItsOwnClass) {
  static_assert(std::is_base_of_v<std::exception, weft::concurrent::CancelledError>);
  static_assert(!std::is_base_of_v<weft::CancelledError, weft::concurrent::CancelledError>);
  static_assert(!std::is_base_of_v<std::exception, weft::CancelledError>);
  weft::Runtime rt({.workers = 2});
  std::atomic<bool> waiting{false};
  std::atomic<bool> coroutine_saw_asyncio_error{false};
  auto future = weft::run_coroutine_threadsafe(
      [&] {
        waiting = true;
        try {
          weft::sleep(3600.0);
        } catch (const weft::CancelledError&) {
          coroutine_saw_asyncio_error = true;
          throw;
        }
      },
      rt);
  ASSERT_TRUE(eventually([&] { return waiting.load(); }));
  future.cancel();
  std::string caught;
  try {
    future.result();
  } catch (const weft::CancelledError&) {
    caught = "asyncio CancelledError";
  } catch (const std::exception& e) {  // Python's `except Exception` catches it
    caught = dynamic_cast<const weft::concurrent::CancelledError*>(&e) ? "concurrent CancelledError"
                                                                       : "other";
  }
  EXPECT_EQ(caught, "concurrent CancelledError");
  ASSERT_TRUE(eventually([&] { return future.task().done(); }));
  EXPECT_TRUE(coroutine_saw_asyncio_error.load());
}

}  // namespace
