// Callbacks that throw: asyncio catches what a callback raises, hands it to the loop's exception
// handler ("Exception in callback ...") and goes on. Ported from CPython's test_base_events.py
// (BaseEventLoopTests: test_set_exc_handler_*, test_default_exc_handler_*) and the done-callback
// cases of test_futures.py / test_tasks.py, adapted: C++ callables have no name, so the handle
// says where the callback came from; the context carries reprs, not the objects.
//
// Each case runs in a child process (a death test, re-executed, so safe with threads): before
// the fix the first throwing callback ended the process with std::terminate, which must fail
// the case rather than the whole suite.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "faults_test_support.hpp"

namespace {

using weft_faults_test::eventually;
using weft_faults_test::WarningCapture;

// Runs `body` in a child process and expects it to reach the end with no failed expectation.
template <class Body>
void in_child(Body body) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        body();
        std::fflush(stdout);
        std::_Exit(::testing::Test::HasFailure() ? 1 : 0);
      },
      ::testing::ExitedWithCode(0), "");
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}
bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// What a custom handler saw, for the test to look at once the runtime is done.
struct Seen {
  std::mutex mutex;
  std::vector<weft::ExceptionContext> contexts;
  std::vector<weft::Runtime*> runtimes;
  void add(weft::Runtime& rt, const weft::ExceptionContext& context) {
    std::lock_guard lock(mutex);
    contexts.push_back(context);
    runtimes.push_back(&rt);
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return contexts.size();
  }
};

std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "?";
  }
}

// asyncio: loop.call_soon(zero_error); the default handler logs "Exception in callback ...", the
// handle and the traceback; the loop runs the next callback.
TEST(CallbackErrors, test_default_exc_handler_callback) {
  in_child([] {
    WarningCapture warnings;
    std::atomic<bool> after{false};
    {
      weft::Runtime rt({.workers = 1});
      rt.call_soon([] { throw std::runtime_error("zero_error"); });
      rt.call_soon([&] { after = true; });
      EXPECT_TRUE(eventually([&] { return after.load(); }));
    }
    auto errors = warnings.of("ERROR");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message,
              "Exception in callback scheduled by call_soon\n"
              "handle: <Handle scheduled by call_soon>\n"
              "std::runtime_error: zero_error");
  });
}

// asyncio: a task that raised and was dropped is reported with its repr and the exception; with
// a custom handler set, the handler gets that context instead of the log.
TEST(CallbackErrors, test_default_exc_handler_coro) {
  in_child([] {
    WarningCapture warnings;
    Seen seen;
    weft::Runtime rt({.workers = 1});
    rt.set_exception_handler(
        [&](weft::Runtime& r, const weft::ExceptionContext& c) { seen.add(r, c); });
    auto done = weft::run_coroutine_threadsafe(
        weft::coro([] {
          weft::create_task([]() -> int { throw std::runtime_error("zero_error_coro"); });
          weft::sleep(0.0);
          weft::sleep(0.0);
        }),
        rt);
    done.result();
    ASSERT_TRUE(eventually([&] { return seen.size() == 1; }));
    std::lock_guard lock(seen.mutex);
    const auto& context = seen.contexts[0];
    EXPECT_EQ(seen.runtimes[0], &rt);
    EXPECT_EQ(context.message, "Task exception was never retrieved");
    EXPECT_EQ(message_of(context.exception), "zero_error_coro");
    EXPECT_TRUE(starts_with(context.future, "<Task finished name='Task-")) << context.future;
    EXPECT_TRUE(warnings.of("ERROR").empty()) << "the custom handler replaces the log";
  });
}

// asyncio: set_exception_handler(handler); the handler gets (loop, context) for a callback that
// raised; get_exception_handler() returns it; set_exception_handler(None) restores the default.
TEST(CallbackErrors, test_set_exc_handler_custom) {
  in_child([] {
    WarningCapture warnings;
    Seen seen;
    weft::Runtime rt({.workers = 2});
    EXPECT_FALSE(rt.get_exception_handler()) << "the default handler is in use at first";
    rt.set_exception_handler(
        [&](weft::Runtime& r, const weft::ExceptionContext& c) { seen.add(r, c); });
    EXPECT_TRUE(rt.get_exception_handler());
    rt.call_soon([] { throw std::logic_error("custom"); });
    ASSERT_TRUE(eventually([&] { return seen.size() == 1; }));
    {
      std::lock_guard lock(seen.mutex);
      const auto& context = seen.contexts[0];
      EXPECT_EQ(seen.runtimes[0], &rt);
      EXPECT_EQ(context.message, "Exception in callback scheduled by call_soon");
      EXPECT_EQ(context.handle, "<Handle scheduled by call_soon>");
      EXPECT_THROW(std::rethrow_exception(context.exception), std::logic_error);
    }
    EXPECT_TRUE(warnings.of("ERROR").empty());

    rt.set_exception_handler(nullptr);
    EXPECT_FALSE(rt.get_exception_handler());
    std::atomic<bool> after{false};
    rt.call_soon([] { throw std::logic_error("default again"); });
    rt.call_soon([&] { after = true; });
    ASSERT_TRUE(eventually([&] { return after.load(); }));
    ASSERT_TRUE(eventually([&] { return warnings.of("ERROR").size() == 1; }));
    EXPECT_TRUE(contains(warnings.of("ERROR")[0].message, "default again"));
    EXPECT_EQ(seen.size(), 1u);
  });
}

// asyncio: a handler that raises is reported by the default handler as "Unhandled error in
// exception event handler", with the handler's exception and the context it was given; the loop
// goes on.
TEST(CallbackErrors, test_set_exc_handler_broken) {
  in_child([] {
    WarningCapture warnings;
    std::atomic<bool> after{false};
    {
      weft::Runtime rt({.workers = 1});
      rt.set_exception_handler([](weft::Runtime&, const weft::ExceptionContext&) {
        throw std::runtime_error("broken handler");
      });
      rt.call_soon([] { throw std::runtime_error("callback error"); });
      rt.call_soon([&] { after = true; });
      EXPECT_TRUE(eventually([&] { return after.load(); }));
    }
    auto errors = warnings.of("ERROR");
    ASSERT_EQ(errors.size(), 1u);
    const std::string& text = errors[0].message;
    EXPECT_TRUE(starts_with(text, "Unhandled error in exception event handler\ncontext: ")) << text;
    EXPECT_TRUE(contains(text, "'message': 'Exception in callback scheduled by call_soon'"))
        << text;
    EXPECT_TRUE(contains(text, "callback error")) << text;
    EXPECT_TRUE(text.ends_with("\nstd::runtime_error: broken handler")) << text;
  });
}

// asyncio raises TypeError for a handler that is not callable; in C++ it does not compile.
template <class Handler>
constexpr bool accepts_handler = requires(weft::Runtime& rt, Handler handler) {
  rt.set_exception_handler(handler);
};

TEST(CallbackErrors, test_set_exc_handler_invalid) {
  auto valid = [](weft::Runtime&, const weft::ExceptionContext&) {};
  auto wrong_signature = [](int) {};
  EXPECT_TRUE(accepts_handler<decltype(valid)>);
  EXPECT_TRUE(accepts_handler<std::nullptr_t>) << "null restores the default";
  EXPECT_FALSE(accepts_handler<int>);
  EXPECT_FALSE(accepts_handler<decltype(wrong_signature)>);
}

// The default handler's own failure (here the warning sink throws) ends nowhere either: asyncio
// logs "Exception in default exception handler" and goes on.
TEST(CallbackErrors, test_default_exc_handler_broken) {
  in_child([] {
    auto previous = weft::set_warning_handler(
        [](const weft::Warning&) { throw std::runtime_error("sink broken"); });
    std::atomic<bool> after{false};
    {
      weft::Runtime rt({.workers = 1});
      rt.call_soon([] { throw std::runtime_error("callback error"); });
      rt.call_soon([&] { after = true; });
      EXPECT_TRUE(eventually([&] { return after.load(); }));
    }
    weft::set_warning_handler(std::move(previous));
  });
}

// asyncio: loop.call_exception_handler(context) hands any context to the handler in use; the
// default handler formats the keys it finds, sorted.
TEST(CallbackErrors, test_call_exception_handler) {
  in_child([] {
    WarningCapture warnings;
    weft::Runtime rt({.workers = 1});
    weft::ExceptionContext context;
    context.message = "something odd";
    context.exception = std::make_exception_ptr(std::runtime_error("odd"));
    context.task = "<Task pending name='t'>";
    context.future = "<Future pending>";
    rt.call_exception_handler(context);
    auto errors = warnings.of("ERROR");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message,
              "something odd\nfuture: <Future pending>\ntask: <Task pending name='t'>\n"
              "std::runtime_error: odd");

    Seen seen;
    rt.set_exception_handler(
        [&](weft::Runtime& r, const weft::ExceptionContext& c) { seen.add(r, c); });
    rt.call_exception_handler(context);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen.contexts[0].message, "something odd");
    EXPECT_EQ(warnings.of("ERROR").size(), 1u);
  });
}

// asyncio's TimerHandle._run: the same for call_later / call_at; the other timers still fire.
TEST(CallbackErrors, CallLaterCallbackRaisesIsReportedAndTheTimersGoOn) {
  in_child([] {
    WarningCapture warnings;
    std::vector<int> order;
    weft::run(
        [&] {
          auto& loop = weft::get_running_loop();
          loop.call_later(0.1, [&] { order.push_back(1); });
          loop.call_later(0.2, [] { throw std::runtime_error("timer error"); });
          loop.call_at(loop.time() + 0.3, [&] { order.push_back(3); });
          weft::sleep(0.5);
        },
        {.workers = 1, .virtual_time = true});
    EXPECT_EQ(order, (std::vector<int>{1, 3}));
    auto errors = warnings.of("ERROR");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_TRUE(starts_with(errors[0].message,
                            "Exception in callback scheduled by call_at\n"
                            "handle: <TimerHandle when="))
        << errors[0].message;
    EXPECT_TRUE(errors[0].message.ends_with("std::runtime_error: timer error"))
        << errors[0].message;
  });
}

// test_futures.py / test_tasks.py: a done callback that raises is reported; the callbacks after
// it still run, in order, and the awaiting task sees the result.
TEST(CallbackErrors, FutureDoneCallbackRaisesIsReportedAndTheOthersRun) {
  in_child([] {
    WarningCapture warnings;
    Seen seen;
    std::vector<int> order;
    weft::Runtime rt({.workers = 1});
    rt.set_exception_handler(
        [&](weft::Runtime& r, const weft::ExceptionContext& c) { seen.add(r, c); });
    auto result = weft::run_coroutine_threadsafe(
        weft::coro([&] {
          weft::Future<int> f;
          f.add_done_callback([&](auto&) { order.push_back(1); });
          f.add_done_callback([&](auto&) -> void { throw std::runtime_error("cb error"); });
          f.add_done_callback([&](auto&) { order.push_back(3); });
          f.set_result(7);
          return weft::await(f);
        }),
        rt);
    EXPECT_EQ(result.result(), 7);
    rt.shutdown();
    EXPECT_EQ(order, (std::vector<int>{1, 3}));
    ASSERT_EQ(seen.size(), 1u);
    const auto& context = seen.contexts[0];
    EXPECT_EQ(context.message,
              "Exception in callback added by add_done_callback to <Future finished>");
    EXPECT_EQ(context.handle, "<Handle added by add_done_callback to <Future finished>>");
    EXPECT_EQ(context.future, "<Future finished>");
    EXPECT_EQ(message_of(context.exception), "cb error");
  });
}

TEST(CallbackErrors, TaskDoneCallbackRaisesIsReportedAndTheOthersRun) {
  in_child([] {
    WarningCapture warnings;
    std::vector<int> order;
    weft::run(
        [&] {
          auto t = weft::create_task([] { return 1; }, "worker");
          t.add_done_callback([](auto&) { throw std::runtime_error("task cb error"); });
          t.add_done_callback([&](auto&) { order.push_back(2); });
          EXPECT_EQ(weft::await(t), 1);
          weft::sleep(0.0);
        },
        {.workers = 1});
    EXPECT_EQ(order, (std::vector<int>{2}));
    auto errors = warnings.of("ERROR");
    ASSERT_EQ(errors.size(), 1u);
    const std::string& text = errors[0].message;
    EXPECT_TRUE(starts_with(text,
                            "Exception in callback added by add_done_callback to <Task finished "
                            "name='worker'"))
        << text;
    EXPECT_TRUE(contains(text, "\nhandle: <Handle added by add_done_callback to <Task finished"))
        << text;
    EXPECT_TRUE(contains(text, "\ntask: <Task finished name='worker'")) << text;
    EXPECT_TRUE(text.ends_with("\nstd::runtime_error: task cb error")) << text;
  });
}

// A future made outside any runtime runs its callbacks inline, on whichever thread completes it:
// here a plain std::thread, where an escaping exception meant std::terminate. It is logged by
// the default handler; set_result returns normally and the later callbacks run.
TEST(CallbackErrors, AForeignThreadCompletingAFutureSurvivesItsCallbackRaising) {
  in_child([] {
    WarningCapture warnings;
    weft::Future<int> f;
    std::atomic<int> later{0};
    f.add_done_callback([](auto&) { throw std::runtime_error("foreign cb error"); });
    f.add_done_callback([&](auto&) { ++later; });
    std::thread completer([&] { f.set_result(1); });
    completer.join();
    EXPECT_EQ(later.load(), 1);
    EXPECT_EQ(f.result(), 1);
    auto errors = warnings.of("ERROR");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].message,
              "Exception in callback added by add_done_callback to <Future finished>\n"
              "future: <Future finished>\n"
              "handle: <Handle added by add_done_callback to <Future finished>>\n"
              "std::runtime_error: foreign cb error");
  });
}

// concurrent.futures: a callback that raises is logged ("exception calling callback for ...")
// and the next one runs, whether the task's end runs them (on the runtime) or add_done_callback
// runs one at once because the future is done (here, on the caller's thread).
TEST(CallbackErrors, ConcurrentFutureCallbackRaisesIsLoggedAndTheOthersRun) {
  in_child([] {
    WarningCapture warnings;
    std::atomic<int> ran{0};
    weft::Runtime rt({.workers = 2});
    std::atomic<bool> go{false};
    auto f = weft::run_coroutine_threadsafe(weft::coro([&go] {
                                              while (!go.load()) weft::sleep(0.001);
                                              return 5;
                                            }),
                                            rt);
    f.add_done_callback([](auto&) { throw std::runtime_error("concurrent cb error"); });
    f.add_done_callback([&](auto&) { ++ran; });
    go = true;
    EXPECT_EQ(f.result(), 5);
    ASSERT_TRUE(eventually([&] { return ran.load() == 1; }));
    f.add_done_callback([](auto&) { throw std::runtime_error("late cb error"); });
    f.add_done_callback([&](auto&) { ++ran; });
    EXPECT_EQ(ran.load(), 2);
    auto errors = warnings.of("ERROR");
    ASSERT_EQ(errors.size(), 2u);
    for (const auto& error : errors) {
      EXPECT_TRUE(starts_with(error.message,
                              "exception calling callback for <ConcurrentFuture of <Task finished"))
          << error.message;
    }
    EXPECT_TRUE(errors[0].message.ends_with("concurrent cb error")) << errors[0].message;
    EXPECT_TRUE(errors[1].message.ends_with("late cb error")) << errors[1].message;
  });
}

// Many callbacks throwing from many workers at once: each is reported once, none is lost, the
// process survives (the handler runs concurrently on the workers).
TEST(CallbackErrors, ThrowingCallbacksOnManyWorkersAreEachReportedOnce) {
  in_child([] {
    constexpr int n = static_cast<int>(weft_faults_test::scaled(20000));
    std::atomic<int> reported{0};
    std::atomic<int> ran{0};
    {
      weft::Runtime rt({.workers = 4});
      rt.set_exception_handler(
          [&](weft::Runtime&, const weft::ExceptionContext&) { reported.fetch_add(1); });
      std::vector<std::thread> submitters;
      for (int s = 0; s < 4; ++s) {
        submitters.emplace_back([&] {
          for (int i = 0; i < n / 4; ++i) {
            rt.call_soon([&ran, i] {
              ran.fetch_add(1);
              if (i % 2 == 0) throw std::runtime_error("even");
            });
          }
        });
      }
      for (auto& t : submitters) t.join();
      EXPECT_TRUE(eventually([&] { return ran.load() == n / 4 * 4; }));
    }
    EXPECT_EQ(reported.load(), n / 4 * 2);
  });
}

}  // namespace
