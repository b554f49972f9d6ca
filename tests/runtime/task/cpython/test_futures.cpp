// CPython's Lib/test/test_asyncio/test_futures.py: the state rules of a future, get_loop, and
// wrap_future (a ConcurrentFuture as an awaitable future). Each test is named after the method it
// mirrors and runs on 1 and 2 workers.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "../../runtime_test_support.hpp"

namespace {

class BaseFutureTests : public ::testing::TestWithParam<unsigned> {
 protected:
  weft::RunOptions options() const {
    return weft::RunOptions{.workers = GetParam(), .virtual_time = true};
  }
};

TEST_P(BaseFutureTests, test_initial_state) {
  weft::run(
      [] {
        weft::Future<int> f;
        EXPECT_FALSE(f.cancelled());
        EXPECT_FALSE(f.done());
        f.cancel();
        EXPECT_TRUE(f.cancelled());
      },
      options());
}

TEST_P(BaseFutureTests, test_constructor_without_loop) {
  // A future made outside any runtime belongs to none: get_loop() is a RuntimeError.
  weft::Future<int> f;
  try {
    (void)f.get_loop();
    ADD_FAILURE() << "get_loop() returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("no running event loop", 0), 0u) << e.what();
  }
}

TEST_P(BaseFutureTests, test_constructor_use_running_loop) {
  weft::run(
      [] {
        weft::Future<int> f;
        EXPECT_EQ(&f.get_loop(), &weft::get_running_loop());
      },
      options());
}

// set_result / set_exception on a done future: InvalidStateError, whatever the argument (a null
// exception included: the state is checked first).
void expect_settling_refused(weft::Future<int>& f) {
  EXPECT_THROW(f.set_result(0), weft::InvalidStateError);
  EXPECT_THROW(f.set_exception(std::exception_ptr()), weft::InvalidStateError);
  EXPECT_THROW(f.set_exception(weft::ValueError("x")), weft::InvalidStateError);
  EXPECT_FALSE(f.cancel());
}

TEST_P(BaseFutureTests, test_cancel) {
  weft::run(
      [] {
        weft::Future<int> f;
        EXPECT_TRUE(f.cancel());
        EXPECT_TRUE(f.cancelled());
        EXPECT_TRUE(f.done());
        EXPECT_THROW(f.result(), weft::CancelledError);
        EXPECT_THROW(f.exception(), weft::CancelledError);
        expect_settling_refused(f);
      },
      options());
}

TEST_P(BaseFutureTests, test_result) {
  weft::run(
      [] {
        weft::Future<int> f;
        EXPECT_THROW(f.result(), weft::InvalidStateError);
        f.set_result(42);
        EXPECT_FALSE(f.cancelled());
        EXPECT_TRUE(f.done());
        EXPECT_EQ(f.result(), 42);
        EXPECT_EQ(f.exception(), nullptr);
        expect_settling_refused(f);
      },
      options());
}

TEST_P(BaseFutureTests, test_exception) {
  weft::run(
      [] {
        weft::Future<int> f;
        EXPECT_THROW(f.exception(), weft::InvalidStateError);
        f.set_exception(weft::RuntimeError("boom"));
        EXPECT_FALSE(f.cancelled());
        EXPECT_TRUE(f.done());
        EXPECT_THROW(f.result(), weft::RuntimeError);
        EXPECT_NE(f.exception(), nullptr);
        expect_settling_refused(f);
      },
      options());
}

TEST_P(BaseFutureTests, test_set_exception_null_on_a_pending_future) {
  // A pending future refuses a null exception: TypeError, and it stays pending.
  weft::run(
      [] {
        weft::Future<int> f;
        EXPECT_THROW(f.set_exception(std::exception_ptr()), weft::TypeError);
        EXPECT_FALSE(f.done());
        f.set_result(1);
      },
      options());
}

INSTANTIATE_TEST_SUITE_P(Workers, BaseFutureTests, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

// wrap_future: CPython wraps a ThreadPoolExecutor's future; weft's ConcurrentFuture is the one
// run_coroutine_threadsafe gives, so the work runs on a second runtime (another "loop").
class WrapFutureTests : public BaseFutureTests {};

// Work on `executor` that sleeps an hour; returns once it has started.
weft::ConcurrentFuture<void> start_sleeping(weft::Runtime& executor) {
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto f = weft::run_coroutine_threadsafe(
      [started] {
        *started = true;
        weft::sleep(3600.0);
      },
      executor);
  while (!*started) std::this_thread::yield();
  return f;
}

TEST_P(WrapFutureTests, test_wrap_future) {
  weft::Runtime executor({.workers = 1});
  auto f1 = weft::run_coroutine_threadsafe(
      [] { return std::hash<std::thread::id>{}(std::this_thread::get_id()); }, executor);
  auto ident = weft::run(
      [&] {
        auto f2 = weft::wrap_future(f1);
        EXPECT_EQ(&f2.get_loop(), &weft::get_running_loop());
        return weft::await(f2);
      },
      weft::RunOptions{.workers = GetParam()});
  EXPECT_NE(ident, std::hash<std::thread::id>{}(std::this_thread::get_id()));
}

TEST_P(WrapFutureTests, test_wrap_future_future) {
  weft::run(
      [] {
        weft::Future<int> f1;
        auto f2 = weft::wrap_future(f1);
        f1.set_result(3);
        EXPECT_TRUE(f2.done());  // the same future
        EXPECT_EQ(f2.result(), 3);
      },
      options());
}

TEST_P(WrapFutureTests, test_wrap_future_without_loop) {
  weft::Runtime executor({.workers = 1});
  auto f1 = weft::run_coroutine_threadsafe([] { return 1; }, executor);
  try {
    (void)weft::wrap_future(f1);
    ADD_FAILURE() << "wrap_future outside a runtime returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("no running event loop", 0), 0u) << e.what();
  }
  EXPECT_EQ(f1.result(), 1);
}

TEST_P(WrapFutureTests, test_wrap_future_cancel) {
  // Cancelling the wrapper cancels the concurrent future, and so the task behind it.
  weft::Runtime executor({.workers = 1});
  auto f1 = start_sleeping(executor);
  weft::run(
      [&] {
        auto f2 = weft::wrap_future(f1);
        f2.cancel();
        weft::sleep(0.0);  // run_briefly: the wrapper's done callback runs
        EXPECT_TRUE(f2.cancelled());
      },
      weft::RunOptions{.workers = GetParam()});
  EXPECT_TRUE(f1.cancelled());
  EXPECT_THROW(f1.result(), weft::concurrent::CancelledError);
  while (!f1.task().done()) std::this_thread::yield();  // the task got the cancel too
  EXPECT_TRUE(f1.task().cancelled());
}

TEST_P(WrapFutureTests, test_wrap_future_cancel2) {
  // The concurrent future finished first: cancelling the wrapper leaves its result alone. The
  // result reaches the wrapper one scheduled step later, so on one worker the cancel() right
  // after wrap_future always wins (asyncio's order); on two, that step may run first on the other
  // worker, and then cancel() finds the wrapper done.
  weft::Runtime executor({.workers = 1});
  auto f1 = weft::run_coroutine_threadsafe([] { return 42; }, executor);
  EXPECT_EQ(f1.result(), 42);
  weft::run(
      [&] {
        auto f2 = weft::wrap_future(f1);
        bool cancelled = f2.cancel();
        weft::sleep(0.0);
        if (GetParam() == 1) {
          EXPECT_TRUE(cancelled);
        }
        EXPECT_EQ(f2.cancelled(), cancelled);
        if (!cancelled) {
          EXPECT_EQ(f2.result(), 42);
        }
      },
      weft::RunOptions{.workers = GetParam()});
  EXPECT_FALSE(f1.cancelled());
  EXPECT_EQ(f1.result(), 42);
}

TEST_P(WrapFutureTests, test_wrap_future_cancelled_source_cancels_the_wrapper) {
  // _chain_future's other direction: the source is cancelled, the wrapper becomes cancelled.
  weft::Runtime executor({.workers = 1});
  auto f1 = start_sleeping(executor);
  weft::run(
      [&] {
        auto f2 = weft::wrap_future(f1);
        std::thread canceller([f1]() mutable { f1.cancel(); });
        EXPECT_THROW(weft::await(f2), weft::CancelledError);
        canceller.join();
        EXPECT_TRUE(f2.cancelled());
      },
      weft::RunOptions{.workers = GetParam()});
}

TEST_P(WrapFutureTests, test_wrap_future_exception) {
  weft::Runtime executor({.workers = 1});
  auto f1 =
      weft::run_coroutine_threadsafe([]() -> int { throw weft::ValueError("bad"); }, executor);
  weft::run([&] { EXPECT_THROW(weft::await(weft::wrap_future(f1)), weft::ValueError); },
            weft::RunOptions{.workers = GetParam()});
}

INSTANTIATE_TEST_SUITE_P(Workers, WrapFutureTests, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

}  // namespace
