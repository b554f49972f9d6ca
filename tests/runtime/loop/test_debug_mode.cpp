// Debug mode (asyncio's debug=True / PYTHONASYNCIODEBUG; RunOptions::debug or WEFT_DEBUG=1):
// a step or callback longer than slow_callback_duration is reported with the task, the worker
// and where the step began and ended; a worker blocked inside one step that long is named with
// the task that blocked it; a task keeps its creation site for the reports about it.
//
// The blocking tests block for a few hundred milliseconds at most, once each: the reports are
// about real time, which no virtual clock can stand in for.
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::kSanitized;
using weft_rt_test::WarningCapture;

// Past the default 0.1 s threshold by a margin a loaded machine keeps.
const auto kSlowStep = std::chrono::milliseconds(150);
// A worker blocked this long is seen by a monitor that looks every 50 ms past 100 ms, even if
// its futex wait oversleeps under a sanitizer.
const auto kBlock = std::chrono::milliseconds(kSanitized ? 500 : 250);

std::string at(unsigned line) {
  return std::string(__FILE__) + ":" + std::to_string(line);
}

// The reports of one kind: "Executing ..." (a slow step) or "... inside one step ..." (a
// blocked worker).
std::vector<std::string> slow_steps(const WarningCapture& warnings) {
  std::vector<std::string> out;
  for (auto& w : warnings.of("WARNING")) {
    if (w.message.rfind("Executing ", 0) == 0) out.push_back(w.message);
  }
  return out;
}
std::vector<std::string> blocked_workers(const WarningCapture& warnings) {
  std::vector<std::string> out;
  for (auto& w : warnings.of("WARNING")) {
    if (w.message.find("inside one step") != std::string::npos) out.push_back(w.message);
  }
  return out;
}
std::vector<std::string> naming(const std::vector<std::string>& reports, const std::string& name) {
  std::vector<std::string> out;
  for (auto& r : reports) {
    if (r.find("name='" + name + "'") != std::string::npos) out.push_back(r);
  }
  return out;
}

// ---- loop.slow_callback_duration

// test_base_events.py's test_set_debug has no counterpart (debug is fixed at construction);
// get_debug and the attribute's default and checks are these.
TEST(DebugMode, SlowCallbackDurationDefaultsToATenthOfASecondAndCanBeSet) {
  weft::Runtime rt({.workers = 1});
  EXPECT_FALSE(rt.get_debug());
  EXPECT_DOUBLE_EQ(rt.slow_callback_duration(), 0.1);
  rt.set_slow_callback_duration(0.25);
  EXPECT_DOUBLE_EQ(rt.slow_callback_duration(), 0.25);
  rt.set_slow_callback_duration(0);
  EXPECT_DOUBLE_EQ(rt.slow_callback_duration(), 0.0);
  rt.set_slow_callback_duration(std::numeric_limits<double>::infinity());  // never
  EXPECT_TRUE(std::isinf(rt.slow_callback_duration()));
  for (double bad : {-0.5, std::nan("")}) {
    try {
      rt.set_slow_callback_duration(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const weft::ValueError& error) {
      EXPECT_NE(std::string(error.what()).find("slow_callback_duration"), std::string::npos);
    }
  }
  EXPECT_TRUE(std::isinf(rt.slow_callback_duration()));  // unchanged by the refusals
  weft::Runtime debug({.workers = 1, .debug = true});
  EXPECT_TRUE(debug.get_debug());
}

// test_base_events.py's test_log_slow_callbacks: with the threshold at 0 every callback and
// every task step is reported, "Executing <Handle ...> took ... seconds" and
// "Executing <Task ...> took ... seconds".
TEST(DebugMode, test_log_slow_callbacks) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto& loop = weft::get_running_loop();
        loop.set_slow_callback_duration(0.0);
        std::atomic<int> ran{0};
        loop.call_soon([&] { ++ran; });
        loop.call_later(0.001, [&] { ++ran; });
        auto t = weft::create_task([] {}, "stop_loop_coro");
        weft::await(t);
        while (ran.load() < 2) weft::sleep(0.001);
      },
      {.workers = 1, .debug = true});
  auto reports = slow_steps(warnings);
  auto has = [&](const std::string& head, const std::string& part) {
    for (auto& r : reports) {
      if (r.rfind(head, 0) == 0 && r.find(part) != std::string::npos &&
          r.find(" seconds (worker 0") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(has("Executing <Handle scheduled by call_soon> took ", ""));
  EXPECT_TRUE(has("Executing <TimerHandle> took ", ""));
  EXPECT_TRUE(has("Executing <Task finished name='stop_loop_coro'", " took "));
}

// asyncio's _run_once: a step at least slow_callback_duration long is logged, with the task's
// repr; weft adds the worker and the two awaits that bound the slow code.
TEST(DebugMode, ASlowStepNamesTheTaskTheWorkerAndBothAwaitSites) {
  WarningCapture warnings;
  unsigned before = 0, after = 0, created = 0;
  weft::run(
      [&] {
        auto body = [&] {
          before = __LINE__ + 1;
          weft::sleep(0.001);
          std::this_thread::sleep_for(kSlowStep);  // the slow code, between two awaits
          after = __LINE__ + 1;
          weft::sleep(0.001);
        };
        auto t = weft::create_task(body, "slow");
        created = __LINE__ - 1;
        weft::await(t);
      },
      {.workers = 1, .debug = true});
  auto reports = naming(slow_steps(warnings), "slow");
  ASSERT_EQ(reports.size(), 1u) << ::testing::PrintToString(slow_steps(warnings));
  const std::string& report = reports[0];
  EXPECT_EQ(report.rfind("Executing <Task pending name='slow'", 0), 0u) << report;
  EXPECT_NE(report.find(" took 0."), std::string::npos) << report;
  EXPECT_NE(report.find("(worker 0: "), std::string::npos) << report;
  EXPECT_NE(report.find("resumed from the await at " + at(before)), std::string::npos) << report;
  EXPECT_NE(report.find("suspended at " + at(after)), std::string::npos) << report;
  EXPECT_NE(report.find("created at " + at(created)), std::string::npos) << report;
}

// A sleeping task takes no step while it sleeps; many short steps are each short.
TEST(DebugMode, NoSlowStepForASleepOrForManyShortSteps) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto sleeper = weft::create_task([] { weft::sleep(0.3); }, "sleeper");
        auto busy = weft::create_task(
            [] {
              for (int i = 0; i < 200; ++i) weft::sleep(0);
            },
            "busy");
        weft::await(sleeper);
        weft::await(busy);
      },
      {.workers = 2, .debug = true});
  EXPECT_TRUE(slow_steps(warnings).empty()) << ::testing::PrintToString(slow_steps(warnings));
  EXPECT_TRUE(blocked_workers(warnings).empty())
      << ::testing::PrintToString(blocked_workers(warnings));
}

// Outside debug mode nothing is timed, so nothing is reported.
TEST(DebugMode, WithDebugOffASlowStepIsNotReported) {
  WarningCapture warnings;
  weft::run(
      [] {
        auto t = weft::create_task([] { std::this_thread::sleep_for(kSlowStep); }, "slow");
        weft::await(t);
      },
      {.workers = 1});
  EXPECT_TRUE(slow_steps(warnings).empty());
  EXPECT_TRUE(blocked_workers(warnings).empty());
}

// ---- a blocked worker, named while it is blocked

// A blocking call in a task: the monitor names the worker, how long, the task and where it
// was, before the call returns.
TEST(DebugMode, AWorkerBlockedInSleepForIsNamedWithItsTask) {
  for (unsigned workers : {1u, 2u}) {
    std::atomic<bool> unblocked{false};
    std::atomic<int> reported_while_blocked{0};
    auto previous = weft::set_warning_handler([&](const weft::Warning& w) {
      if (w.message.find("inside one step") != std::string::npos && !unblocked) {
        ++reported_while_blocked;
      }
    });
    weft::run(
        [&] {
          auto t = weft::create_task(
              [&] {
                std::this_thread::sleep_for(kBlock);
                unblocked = true;
              },
              "sleeper");
          weft::await(t);
        },
        {.workers = workers, .debug = true});
    weft::set_warning_handler(std::move(previous));
    EXPECT_EQ(reported_while_blocked.load(), 1) << workers << " workers";
  }
}

TEST(DebugMode, TheBlockedWorkerReportSaysWhoWhereAndHowLong) {
  WarningCapture warnings;
  unsigned created = 0;
  weft::run(
      [&] {
        auto t = weft::create_task([] { std::this_thread::sleep_for(kBlock); }, "sleeper");
        created = __LINE__ - 1;
        weft::await(t);
      },
      {.workers = 1, .debug = true});
  auto reports = naming(blocked_workers(warnings), "sleeper");
  ASSERT_EQ(reports.size(), 1u) << ::testing::PrintToString(warnings.messages());
  const std::string& report = reports[0];
  EXPECT_EQ(report.rfind("weft: worker 0 has been inside one step for ", 0), 0u) << report;
  EXPECT_NE(report.find(" ms, running <Task pending name='sleeper' coro=<<lambda>() running at " +
                        at(created)),
            std::string::npos)
      << report;
  EXPECT_NE(report.find("created at " + at(created)), std::string::npos) << report;
  // One worker: nobody takes over, and the report does not claim so.
  EXPECT_EQ(report.find("other workers"), std::string::npos) << report;
  EXPECT_NE(report.find("weft::to_thread"), std::string::npos) << report;
}

// A blocking read(2) in a task blocks its worker as a sleep does.
TEST(DebugMode, AWorkerBlockedInAReadIsNamedWithItsTask) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  WarningCapture warnings;
  std::thread writer;
  weft::run(
      [&] {
        auto t = weft::create_task(
            [&] {
              char byte = 0;
              return ::read(fds[0], &byte, 1);  // blocks until the writer writes
            },
            "reader");
        writer = std::thread([&] {
          std::this_thread::sleep_for(kBlock);
          (void)!::write(fds[1], "x", 1);
        });
        EXPECT_EQ(weft::await(t), 1);
      },
      {.workers = 2, .debug = true});
  writer.join();
  ::close(fds[0]);
  ::close(fds[1]);
  auto reports = naming(blocked_workers(warnings), "reader");
  ASSERT_EQ(reports.size(), 1u) << ::testing::PrintToString(warnings.messages());
  EXPECT_EQ(reports[0].rfind("weft: worker ", 0), 0u) << reports[0];
  EXPECT_NE(reports[0].find(" ms, running <Task pending name='reader'"), std::string::npos)
      << reports[0];
  // The step itself is slow too, reported once it is over.
  EXPECT_EQ(naming(slow_steps(warnings), "reader").size(), 1u);
}

// ---- the creation site (asyncio's _source_traceback)

// test_tasks.py's test_task_source_traceback: in debug mode a task knows where it was created.
TEST(DebugMode, test_task_source_traceback) {
  weft::run(
      [] {
        auto task = weft::create_task([] {});
        const unsigned lineno = __LINE__ - 1;
        weft::SourceLocation site = task.core().source_traceback();
        EXPECT_EQ(std::string(site.file_name()), __FILE__);
        EXPECT_EQ(site.line(), lineno);
        EXPECT_NE(std::string(site.function_name()), "");
        weft::await(task);
      },
      {.workers = 1, .debug = true});
  // Not kept outside debug mode (asyncio's _source_traceback is None then).
  weft::run(
      [] {
        auto task = weft::create_task([] {}, "named");
        EXPECT_EQ(std::string(task.core().source_traceback().file_name()), "");
        weft::await(task);
      },
      {.workers = 1});
}

// test_futures.py's test_future_exception_never_retrieved_debug, for a task: the report
// carries "Object created at" with the create_task call, and the warning points there.
TEST(DebugMode, TheNeverRetrievedReportSaysWhereTheTaskWasCreated) {
  WarningCapture warnings;
  unsigned lineno = 0;
  weft::run(
      [&] {
        auto t = weft::create_task([] { throw std::runtime_error("lost"); }, "failing");
        lineno = __LINE__ - 1;
        weft::sleep(0);
        EXPECT_TRUE(t.done());
      },
      {.workers = 1, .debug = true});
  auto errors = warnings.of("ERROR");
  ASSERT_EQ(errors.size(), 1u);
  const std::string& report = errors[0].message;
  EXPECT_EQ(report.rfind("Task exception was never retrieved\n", 0), 0u) << report;
  EXPECT_NE(
      report.find("\nsource_traceback: Object created at (most recent call last):\n  File \"" +
                  std::string(__FILE__) + "\", line " + std::to_string(lineno) + ", in "),
      std::string::npos)
      << report;
  EXPECT_EQ(errors[0].file, __FILE__);
  EXPECT_EQ(errors[0].line, lineno);

  // Without debug mode: no source_traceback.
  warnings.clear();
  weft::run(
      [] {
        auto t = weft::create_task([] { throw std::runtime_error("lost"); }, "failing");
        weft::sleep(0);
      },
      {.workers = 1});
  ASSERT_EQ(warnings.of("ERROR").size(), 1u);
  EXPECT_EQ(warnings.of("ERROR")[0].message.find("source_traceback"), std::string::npos);
}

// A coroutine dropped without being awaited names where it was made, debug mode or not.
TEST(DebugMode, ANeverAwaitedCoroutineNamesWhereItWasCreated) {
  WarningCapture warnings;
  unsigned lineno = 0;
  {
    auto c = weft::coro([] { return 1; });
    lineno = __LINE__ - 1;
  }
  auto reports = warnings.of("RuntimeWarning");
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].message.find("was never awaited"), std::string::npos);
  EXPECT_EQ(reports[0].file, __FILE__);
  EXPECT_EQ(reports[0].line, lineno);
}

// test_tasks.py's test_log_destroyed_pending_task: in asyncio a task waiting on a future nobody
// else holds is garbage, destroyed while pending ("Task was destroyed but it is pending!"). A
// weft task holds itself until it is done, so it is never destroyed pending: it stays among
// all_tasks() and the runtime's teardown cancels it.
TEST(DebugMode, test_log_destroyed_pending_task) {
  WarningCapture warnings;
  weft::TaskRef kill_me;
  weft::run(
      [&] {
        auto task = weft::create_task([] {
          weft::Future<void> future;
          future.await();
          throw std::runtime_error("code never reached");
        });
        weft::sleep(0);  // it waits for its future now
        kill_me = weft::TaskRef(task.state());
      },
      {.workers = 1, .debug = true});
  ASSERT_TRUE(kill_me);
  EXPECT_TRUE(kill_me.cancelled());
  for (auto& w : warnings.all()) {
    EXPECT_EQ(w.message.find("destroyed but it is pending"), std::string::npos) << w.message;
  }
}

}  // namespace
