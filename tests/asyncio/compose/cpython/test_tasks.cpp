// CPython's Lib/test/test_asyncio/test_tasks.py, the methods about the composition tools (a
// task's own methods are in tests/runtime/task/cpython/test_tasks.cpp): each test is named after
// the method it mirrors and runs on 1 and 2 workers.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "../compose_test_support.hpp"

namespace {

// ---- ensure_future and shield (BaseTaskTests' methods of those names) ----

// CPython's test_utils.run_briefly: in virtual time a sleep returns once every worker is idle, so
// every callback scheduled before it has run, on any number of workers.
void run_briefly() {
  weft::sleep(0.01);
}

class EnsureFutureAndShieldTests : public ::testing::TestWithParam<unsigned> {
 protected:
  weft::RunOptions options() const {
    return weft::RunOptions{.workers = GetParam(), .virtual_time = true};
  }
};

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_coroutine) {
  weft::run(
      [] {
        auto t = weft::ensure_future(weft::coro([] { return std::string("ok"); }));
        EXPECT_EQ(&t.get_loop(), &weft::get_running_loop());
        EXPECT_EQ(weft::await(t), "ok");
        EXPECT_TRUE(t.done());
        EXPECT_EQ(t.result(), "ok");
      },
      options());
  // Outside a runtime: asyncio's "no current event loop" RuntimeError.
  try {
    (void)weft::ensure_future(weft::coro([] { return 1; }));
    ADD_FAILURE() << "ensure_future outside a runtime returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("no running event loop", 0), 0u) << e.what();
  }
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_future) {
  weft::Runtime other({.workers = 1});
  weft::run(
      [&] {
        weft::Future<std::string> f_orig;
        f_orig.set_result("ko");
        auto f = weft::ensure_future(f_orig);
        EXPECT_EQ(weft::await(f), "ko");
        f_orig = weft::Future<std::string>();
        f = weft::ensure_future(f_orig);
        f_orig.set_result("same");
        EXPECT_TRUE(f.done());  // f is f_orig
        EXPECT_THROW(weft::ensure_future(f_orig, other), weft::ValueError);
        EXPECT_EQ(weft::ensure_future(f_orig, weft::get_running_loop()).result(), "same");
      },
      options());
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_task) {
  weft::Runtime other({.workers = 1});
  weft::run(
      [&] {
        auto t_orig = weft::create_task([] { return std::string("ok"); });
        auto t = weft::ensure_future(t_orig);
        EXPECT_EQ(weft::await(t), "ok");
        EXPECT_EQ(t.state(), t_orig.state());  // the same task
        EXPECT_THROW(weft::ensure_future(t_orig, other), weft::ValueError);
        EXPECT_EQ(weft::ensure_future(t_orig, weft::get_running_loop()).state(), t_orig.state());
      },
      options());
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_error_msg) {
  weft::Runtime other({.workers = 1});
  weft::run(
      [&] {
        weft::Future<int> f;
        try {
          (void)weft::ensure_future(f, other);
          ADD_FAILURE() << "accepted a future of another loop";
        } catch (const weft::ValueError& e) {
          EXPECT_EQ(std::string(e.what()).rfind("The future belongs to a different loop than the "
                                                "one specified as the loop argument",
                                                0),
                    0u)
              << e.what();
        }
        f.set_result(0);
      },
      options());
}

TEST_P(EnsureFutureAndShieldTests, test_ensure_future_on_another_loop) {
  // asyncio.ensure_future(coro, loop=other): the task is made on that loop, from this thread.
  weft::Runtime other({.workers = 1});
  auto t = weft::ensure_future(weft::coro([] { return 7; }), other);
  EXPECT_EQ(&t.get_loop(), &other);
  weft::run([&] { EXPECT_NE(&weft::get_running_loop(), &t.get_loop()); }, options());
  while (!t.done()) std::this_thread::yield();
  EXPECT_EQ(t.result(), 7);
}

TEST_P(EnsureFutureAndShieldTests, test_shield_cancel_outer_result) {
  std::atomic<int> reports{0};
  weft::run(
      [&] {
        weft::get_running_loop().set_exception_handler(
            [&](weft::Runtime&, const weft::ExceptionContext&) { reports += 1; });
        weft::Future<int> inner;
        auto outer = weft::shield(inner);
        run_briefly();
        outer.cancel();
        run_briefly();
        inner.set_result(1);
        run_briefly();
      },
      options());
  EXPECT_EQ(reports.load(), 0);
}

TEST_P(EnsureFutureAndShieldTests, test_shield_cancel_outer_exception) {
  // 3.14: the inner future fails after its shield was cancelled: reported when it fails.
  std::atomic<int> reports{0};
  std::string message;
  weft::run(
      [&] {
        weft::get_running_loop().set_exception_handler(
            [&](weft::Runtime&, const weft::ExceptionContext& context) {
              reports += 1;
              message = context.message;
            });
        weft::Future<int> inner;
        auto outer = weft::shield(inner);
        run_briefly();
        outer.cancel();
        run_briefly();
        inner.set_exception(weft::ValueError("foo"));
        run_briefly();
        EXPECT_EQ(reports.load(), 1);  // at once, while `inner` is still referenced
      },
      options());
  EXPECT_EQ(reports.load(), 1);  // and not again as "never retrieved" when it is destroyed
  EXPECT_EQ(message, "ValueError exception in shielded future");
}

TEST_P(EnsureFutureAndShieldTests, test_shield_duplicate_log_once) {
  std::atomic<int> reports{0};
  weft::run(
      [&] {
        weft::get_running_loop().set_exception_handler(
            [&](weft::Runtime&, const weft::ExceptionContext&) { reports += 1; });
        weft::Future<int> inner;
        auto outer = weft::shield(inner);
        run_briefly();
        outer.cancel();
        run_briefly();
        outer = weft::shield(inner);
        run_briefly();
        outer.cancel();
        run_briefly();
        inner.set_exception(weft::ValueError("foo"));
        run_briefly();
      },
      options());
  EXPECT_EQ(reports.load(), 1);
}

TEST_P(EnsureFutureAndShieldTests, test_shield_effect) {
  // Cancelling outer() does not affect inner().
  std::atomic<int> proof{0};
  weft::run(
      [&] {
        weft::Future<> waiter;
        auto f = weft::ensure_future(weft::coro([&, waiter] {
          weft::await(weft::shield(weft::coro([&, waiter] {
            weft::await(waiter);
            proof += 1;
          })));
          proof += 100;
        }));
        run_briefly();
        f.cancel();
        EXPECT_THROW(weft::await(f), weft::CancelledError);
        waiter.set_result();
        run_briefly();
      },
      options());
  EXPECT_EQ(proof.load(), 1);
}

INSTANTIATE_TEST_SUITE_P(Workers, EnsureFutureAndShieldTests, ::testing::Values(1u, 2u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

}  // namespace
