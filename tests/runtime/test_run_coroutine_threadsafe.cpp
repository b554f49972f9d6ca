// run_coroutine_threadsafe: a concurrent.futures-like handle for a foreign thread -- result()
// with and without a timeout, exception(), cancel() reaching the coroutine, done(), and done
// callbacks run in the completing thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime_test_support.hpp"

namespace {

using weft_rt_test::eventually;

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
  EXPECT_THROW(future.result(), weft::CancelledError);
  EXPECT_THROW(future.exception(), weft::CancelledError);
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
  EXPECT_THROW(future.result(std::chrono::seconds(30)), weft::CancelledError);
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

}  // namespace
