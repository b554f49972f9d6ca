// CPython's test_asyncio/test_runners.py (RunTests, RunnerTests) for weft::run and weft::Runner.
// Each test runs on 1 and 2 workers in virtual time. Left out, as they have no C++ form: the
// loop factory and event-loop policy tests, run() of a non-coroutine (a type error at compile
// time), async generators' finalisation at shutdown, the task factory without uncancel() and the
// repr of the result. Ctrl-C is a real SIGINT, raised on a worker (raise()) or sent to the process
// (kill()), as _thread.interrupt_main() does.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../../runtime_test_support.hpp"

namespace {

// Waits for a Ctrl-C: no timer, so virtual time cannot end the sleep first.
constexpr double kForever = std::numeric_limits<double>::infinity();

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The handler SIGINT has now (SIG_DFL, SIG_IGN or a function).
void (*sigint_disposition())(int) {
  struct sigaction current {};
  sigaction(SIGINT, nullptr, &current);
  return current.sa_handler;
}

class Workers : public ::testing::TestWithParam<unsigned> {
 protected:
  weft::RunOptions options(bool debug = false) const {
    return weft::RunOptions{.workers = GetParam(), .virtual_time = true, .debug = debug};
  }
  // run() installs its handler only over SIG_DFL, which a shell gives a background job as
  // SIG_IGN: each test starts from SIG_DFL, and the disposition it found is put back after.
  void SetUp() override {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ASSERT_EQ(sigaction(SIGINT, &dfl, &found_), 0);
  }
  void TearDown() override {
    EXPECT_EQ(sigint_disposition(), SIG_DFL);  // no handler of run()'s left behind
    sigaction(SIGINT, &found_, nullptr);
  }

 private:
  struct sigaction found_ {};
};

class RunTests : public Workers {};
class RunnerTests : public Workers {};

// ---- RunTests

TEST_P(RunTests, test_asyncio_run_return) {
  EXPECT_EQ(weft::run(
                [] {
                  weft::sleep(0.0);
                  return 42;
                },
                options()),
            42);
}

TEST_P(RunTests, test_asyncio_run_raises) {
  try {
    weft::run(
        [] {
          weft::sleep(0.0);
          throw weft::ValueError("spam");
        },
        options());
    FAIL() << "run() returned";
  } catch (const weft::ValueError& e) {
    EXPECT_TRUE(has(e.what(), "spam")) << e.what();
  }
}

TEST_P(RunTests, test_asyncio_run_debug) {
  auto debug = [] { return weft::get_running_loop().get_debug(); };
  EXPECT_FALSE(weft::run(debug, options(false)));
  EXPECT_TRUE(weft::run(debug, options(true)));
}

TEST_P(RunTests, test_asyncio_run_from_running_loop) {
  try {
    weft::run([] { weft::run([] {}); }, options());
    FAIL() << "a nested run() was accepted";
  } catch (const weft::RuntimeError& e) {
    EXPECT_TRUE(has(e.what(), "cannot be called from a running")) << e.what();
  }
}

TEST_P(RunTests, test_asyncio_run_cancels_hanging_tasks) {
  weft::Task<void> leftover;
  EXPECT_EQ(weft::run(
                [&] {
                  leftover = weft::create_task([] { weft::sleep(0.1); });
                  return 123;
                },
                options()),
            123);
  EXPECT_TRUE(leftover.done());
  EXPECT_TRUE(leftover.cancelled());
}

TEST_P(RunTests, test_asyncio_run_reports_hanging_tasks_errors) {
  weft::Task<void> leftover;
  std::vector<weft::ExceptionContext> reports;
  EXPECT_EQ(weft::run(
                [&] {
                  weft::get_running_loop().set_exception_handler(
                      [&](weft::Runtime&, const weft::ExceptionContext& context) {
                        reports.push_back(context);
                      });
                  leftover = weft::create_task([] {
                    try {
                      weft::sleep(0.1);
                    } catch (const weft::CancelledError&) {
                      throw std::domain_error("division by zero");
                    }
                  });
                  return 123;
                },
                options()),
            123);
  ASSERT_TRUE(leftover.done());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].message, "unhandled exception during asyncio.run() shutdown");
  EXPECT_EQ(reports[0].task, leftover.repr());
  EXPECT_THROW(std::rethrow_exception(reports[0].exception), std::domain_error);
}

// ---- RunnerTests

TEST_P(RunnerTests, test_non_debug) {
  weft::Runner runner(options(false));
  EXPECT_FALSE(runner.get_loop().get_debug());
}

TEST_P(RunnerTests, test_debug) {
  weft::Runner runner(options(true));
  EXPECT_TRUE(runner.get_loop().get_debug());
}

TEST_P(RunnerTests, test_run) {
  weft::Runner runner(options());
  EXPECT_EQ(runner.run([] {
    weft::sleep(0.0);
    return std::string("done");
  }),
            "done");
  weft::Runtime& loop = runner.get_loop();
  EXPECT_FALSE(loop.is_closed());
  runner.close();  // the end of the with block
  try {
    runner.get_loop();
    FAIL() << "get_loop() after close()";
  } catch (const weft::RuntimeError& e) {
    EXPECT_TRUE(has(e.what(), "Runner is closed")) << e.what();
  }
  EXPECT_TRUE(loop.is_closed());
}

TEST_P(RunnerTests, test_explicit_close) {
  weft::Runner runner(options());
  weft::Runtime& loop = runner.get_loop();
  runner.close();
  EXPECT_THROW(runner.get_loop(), weft::RuntimeError);
  EXPECT_TRUE(loop.is_closed());
}

TEST_P(RunnerTests, test_double_close) {
  weft::Runner runner(options());
  weft::Runtime& loop = runner.get_loop();
  runner.close();
  EXPECT_TRUE(loop.is_closed());
  runner.close();  // a no-op
  EXPECT_TRUE(loop.is_closed());
}

TEST_P(RunnerTests, test_second_with_block_raises) {
  std::vector<int> ret;
  weft::Runner runner(options());
  runner.run([&] { ret.push_back(1); });
  runner.close();
  try {
    runner.run([&] { ret.push_back(2); });
    FAIL() << "run() after close()";
  } catch (const weft::RuntimeError& e) {
    EXPECT_TRUE(has(e.what(), "Runner is closed")) << e.what();
  }
  EXPECT_EQ(ret, std::vector<int>{1});
}

TEST_P(RunnerTests, test_run_keeps_context) {
  weft::ContextVar<int> cvar("cvar", -1);
  auto f = [&](int value) {
    return [&cvar, value] {
      int old = cvar.get();
      weft::sleep(0.0);
      cvar.set(value);
      return old;
    };
  };
  weft::Runner runner(options());
  EXPECT_EQ(runner.run(f(1)), -1);
  EXPECT_EQ(runner.run(f(2)), 1);
  weft::Context context = runner.run([] { return weft::copy_context(); });
  EXPECT_EQ(context.get(cvar).value_or(-100), 2);
  EXPECT_EQ(cvar.get(), -1);  // the caller's own Context is untouched
}

// Runner.run(coro, context=ctx): main runs in ctx itself, not in the runner's Context.
TEST_P(RunnerTests, RunWithAContextRunsMainInThatContext) {
  weft::ContextVar<int> cvar("cvar", -1);
  weft::Runner runner(options());
  weft::Context ctx;
  runner.run([&] { cvar.set(5); }, ctx);
  EXPECT_EQ(ctx.get(cvar).value_or(-100), 5);
  EXPECT_EQ(runner.run([&] { return cvar.get(); }), -1);  // the runner's own is untouched
  EXPECT_TRUE(runner.run([] { return weft::current_task().get_context(); }, ctx).is(ctx));
}

TEST_P(RunnerTests, test_recursive_run) {
  weft::Runner runner(options());
  bool inner_ran = false;
  try {
    runner.run([&] { runner.run([&] { inner_ran = true; }); });
    FAIL() << "a recursive run() was accepted";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(
        std::string(e.what()).rfind("Runner.run() cannot be called from a running event loop", 0),
        0u)
        << e.what();
  }
  EXPECT_FALSE(inner_ran);
}

TEST_P(RunnerTests, test_interrupt_call_soon) {
  // The main task is never suspended on a future: it only yields. The Ctrl-C comes from a
  // callback; main sees CancelledError at a yield and lets it out: KeyboardInterrupt.
  weft::Runner runner(options());
  std::atomic<bool> saw_cancel{false};
  EXPECT_THROW(runner.run([&] {
    weft::get_running_loop().call_soon([] { raise(SIGINT); });
    try {
      for (;;) weft::sleep(0.0);
    } catch (const weft::CancelledError&) {
      saw_cancel = true;
    }
    throw weft::CancelledError();
  }),
               weft::KeyboardInterrupt);
  EXPECT_TRUE(saw_cancel.load());
  EXPECT_EQ(sigint_disposition(), SIG_DFL);  // the previous handler is back
}

TEST_P(RunnerTests, test_interrupt_wait) {
  // Interrupting while main awaits a future cancels the future and the main task.
  weft::Runner runner(options());
  std::optional<weft::Future<void>> fut;
  std::atomic<bool> saw_cancel{false};
  EXPECT_THROW(runner.run([&] {
    fut.emplace();
    weft::get_running_loop().call_soon([] { raise(SIGINT); });
    try {
      fut->await();
    } catch (const weft::CancelledError&) {
      saw_cancel = true;
    }
    throw weft::CancelledError();
  }),
               weft::KeyboardInterrupt);
  EXPECT_TRUE(saw_cancel.load());
  ASSERT_TRUE(fut.has_value());
  EXPECT_TRUE(fut->cancelled());
}

TEST_P(RunnerTests, test_interrupt_cancelled_task) {
  // Interrupting a main task that something else cancelled too does not raise KeyboardInterrupt:
  // its own CancelledError comes out. (Here run()'s thread, not the subtask, handles the signal:
  // main holds on until the subtask, having seen Ctrl-C's cancellation, has added its own.)
  weft::Runner runner(options());
  EXPECT_THROW(runner.run([] {
    auto main = weft::current_task();
    weft::create_task([main]() mutable {
      weft::sleep(0.0);
      raise(SIGINT);
      while (main.cancelling() < 1) weft::sleep(0.0);
      main.cancel();
    });
    try {
      weft::sleep(kForever);
    } catch (const weft::CancelledError&) {
      // Both cancellations may come as this one CancelledError (as on asyncio's one thread);
      // hold on until the subtask's is in too (a later one interrupts this wait itself).
      while (weft::current_task().cancelling() < 2) weft::sleep(0.0);
      throw;
    }
  }),
               weft::CancelledError);
}

TEST_P(RunnerTests, test_signal_install_not_supported_ok) {
  // asyncio leaves SIGINT alone where it cannot or must not install its handler: off the main
  // thread, and over a handler of the program's own. run() works all the same.
  weft::Runner runner(options());
  void (*inside)(int) = nullptr;
  std::thread other([&] { runner.run([&] { inside = sigint_disposition(); }); });
  other.join();
  EXPECT_EQ(inside, SIG_DFL);

  static std::atomic<int> own_handler_calls{0};
  own_handler_calls = 0;
  auto own = [](int) { ++own_handler_calls; };
  struct sigaction ours {
  }, previous{};
  ours.sa_handler = own;
  sigemptyset(&ours.sa_mask);
  ASSERT_EQ(sigaction(SIGINT, &ours, &previous), 0);
  runner.run([&] {
    inside = sigint_disposition();
    raise(SIGINT);  // goes to the program's handler; main is not cancelled
    weft::sleep(0.0);
  });
  EXPECT_EQ(inside, +own);
  EXPECT_EQ(own_handler_calls.load(), 1);
  EXPECT_EQ(sigint_disposition(), +own);
  sigaction(SIGINT, &previous, nullptr);
}

// Beyond CPython's file: the handler is run()'s while it runs on the main thread, and gone after.
TEST_P(RunnerTests, TheHandlerIsInstalledOnlyWhileRunRuns) {
  weft::Runner runner(options());
  void (*inside)(int) = SIG_DFL;
  runner.run([&] { inside = sigint_disposition(); });
  EXPECT_NE(inside, SIG_DFL);
  EXPECT_NE(inside, SIG_IGN);
  EXPECT_EQ(sigint_disposition(), SIG_DFL);
}

// asyncio's second Ctrl-C: KeyboardInterrupt at once, the main task left to close().
TEST_P(RunnerTests, ASecondInterruptRaisesAtOnce) {
  weft::Runner runner(options());
  std::atomic<bool> main_cleaned_up{false};
  EXPECT_THROW(runner.run([&] {
    try {
      raise(SIGINT);
      weft::sleep(kForever);
    } catch (const weft::CancelledError&) {
      // Ignores the first Ctrl-C and goes on; the second one must not wait for it.
    }
    raise(SIGINT);
    try {
      weft::sleep(kForever);
    } catch (const weft::CancelledError&) {
      main_cleaned_up = true;  // close() cancels it
      throw;
    }
  }),
               weft::KeyboardInterrupt);
  EXPECT_FALSE(main_cleaned_up.load());
  runner.close();
  EXPECT_TRUE(main_cleaned_up.load());
}

// weft::run is a Runner for one main: the same Ctrl-C handling.
TEST_P(RunTests, AnInterruptedMainRaisesKeyboardInterrupt) {
  EXPECT_THROW(weft::run(
                   [] {
                     raise(SIGINT);
                     weft::sleep(kForever);
                   },
                   options()),
               weft::KeyboardInterrupt);
  EXPECT_EQ(sigint_disposition(), SIG_DFL);
}

TEST_P(RunTests, AMainThatHandlesTheInterruptReturnsNormally) {
  EXPECT_EQ(weft::run(
                [] {
                  raise(SIGINT);
                  try {
                    weft::sleep(kForever);
                  } catch (const weft::CancelledError&) {
                    weft::current_task().uncancel();
                    return 7;  // handled: asyncio returns the result
                  }
                  return 0;
                },
                options()),
            7);
}

std::string worker_name(const ::testing::TestParamInfo<unsigned>& info) {
  return "workers" + std::to_string(info.param);
}
INSTANTIATE_TEST_SUITE_P(Workers, RunTests, ::testing::Values(1u, 2u), worker_name);
INSTANTIATE_TEST_SUITE_P(Workers, RunnerTests, ::testing::Values(1u, 2u), worker_name);

}  // namespace
