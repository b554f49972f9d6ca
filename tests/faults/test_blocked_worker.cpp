// A task that blocks its worker's thread (a blocking call, a long computation) must not hold back
// that worker's timers and queued tasks while another worker is free: after
// RunOptions::blocked_worker_after (10 ms by default) the other workers take them over, as Go's
// sysmon retakes a blocked thread's processor, and debug mode names the task that blocked.
//
// Each test blocks a worker for `kBlock` and checks *order*, not time: what the blocked worker
// held ran while it was still blocked (the blocker had not yet set `unblocked`). Before the
// takeover it ran only after.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <string>
#include <thread>

#include "faults_test_support.hpp"

namespace {

using weft_faults_test::kSanitized;
using weft_faults_test::WarningCapture;

// Long enough that a takeover (threshold 10 ms, looks every 5 ms) happens well inside it, even
// under a sanitizer on a loaded machine.
const auto kBlock = std::chrono::milliseconds(kSanitized ? 1500 : 600);

// The thread a fiber runs on now. pthread_self() is declared const, so two calls to it in one
// function may be merged into one -- wrong on a fiber that migrated between them. Never inlined,
// and opaque (the asm), so every call asks again.
__attribute__((noinline)) std::thread::id current_thread() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

struct Observed {
  std::atomic<bool> unblocked{false};  // the blocker returned from its blocking call
  std::atomic<bool> ran{false};        // what it held back has run
  std::atomic<bool> ran_while_blocked{false};
  std::atomic<bool> ran_on_other_thread{false};
  std::thread::id blocker_thread;  // written before the blocking call, read after `ran`

  void mark_ran() {
    ran_while_blocked = !unblocked.load();
    ran_on_other_thread = current_thread() != blocker_thread;
    ran = true;
  }
  void block() {
    std::this_thread::sleep_for(kBlock);  // the blocking call: the worker's thread sleeps
    unblocked = true;
  }
};

// A call_later timer lives on the worker of the task that set it: that worker then blocks.
// `idle_first`: every worker parks for that long before (so the monitor dozes; see below).
void expect_the_timer_of_a_blocked_worker_to_fire_while_it_blocks(double idle_first) {
  Observed seen;
  weft::run(
      [&] {
        if (idle_first > 0) weft::sleep(idle_first);
        auto blocker = weft::create_task([&] {
          seen.blocker_thread = current_thread();
          weft::get_running_loop().call_later(0.02, [&] { seen.mark_ran(); });
          seen.block();
        });
        weft::await(blocker);
      },
      weft::RunOptions{.workers = 2});
  ASSERT_TRUE(seen.ran.load());
  EXPECT_TRUE(seen.ran_while_blocked.load());
  EXPECT_TRUE(seen.ran_on_other_thread.load());
}

TEST(BlockedWorker, ATimerOfABlockedWorkerFiresWhileItIsStillBlocked) {
  expect_the_timer_of_a_blocked_worker_to_fire_while_it_blocks(0);
}

// Once every worker has stayed parked for a few looks the monitor dozes, with no deadline: the
// worker that leaves park to run the blocker must wake it, or the timer would wait for the
// blocker. Each round idles long enough for the doze (four looks 5 ms apart) first.
TEST(BlockedWorker, AfterAnIdleSpellATimerOfABlockedWorkerStillFiresWhileItIsBlocked) {
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    expect_the_timer_of_a_blocked_worker_to_fire_while_it_blocks(0.1);
  }
}

// A task woken by the blocker goes to its worker's LIFO slot, which wakes nobody: the blocked
// worker held it, and the other worker stayed parked.
TEST(BlockedWorker, ATaskWokenByTheBlockerRunsOnAnotherWorkerWhileItIsBlocked) {
  Observed seen;
  weft::run(
      [&] {
        weft::Event event;
        auto waiter = weft::create_task([&] {
          event.wait();
          seen.mark_ran();
        });
        weft::sleep(0.01);  // the waiter waits
        auto blocker = weft::create_task([&] {
          seen.blocker_thread = current_thread();
          event.set();
          seen.block();
        });
        weft::await(blocker);
        weft::await(waiter);
      },
      weft::RunOptions{.workers = 2});
  ASSERT_TRUE(seen.ran.load());
  EXPECT_TRUE(seen.ran_while_blocked.load());
  EXPECT_TRUE(seen.ran_on_other_thread.load());
}

// A sleep's timer is set by the worker that stepped the sleeping task. The sleeper starts the
// blocker and sleeps; the blocker usually runs next on the same worker (newest spawn first) but
// may be stolen, so the scenario is retried until it happened on one worker.
TEST(BlockedWorker, ASleepOnABlockedWorkerEndsWhileItIsStillBlocked) {
  bool set_up = false;
  for (int attempt = 0; attempt < 40 && !set_up; ++attempt) {
    Observed seen;
    std::atomic<bool> same_worker{false};
    weft::run(
        [&] {
          auto sleeper = weft::create_task([&] {
            const auto sleeper_thread = current_thread();
            auto blocker = weft::create_task([&, sleeper_thread] {
              seen.blocker_thread = current_thread();
              same_worker = seen.blocker_thread == sleeper_thread;
              if (same_worker) seen.block();
            });
            weft::sleep(0.03);
            seen.mark_ran();
            weft::await(blocker);
          });
          weft::await(sleeper);
        },
        weft::RunOptions{.workers = 2});
    if (!same_worker) continue;
    set_up = true;
    ASSERT_TRUE(seen.ran.load());
    EXPECT_TRUE(seen.ran_while_blocked.load());
    EXPECT_TRUE(seen.ran_on_other_thread.load());
  }
  EXPECT_TRUE(set_up) << "the blocker never ran on the sleeper's worker in 40 attempts";
}

// The takeover can be turned off; then the timer waits for its worker (the old behaviour, and
// proof that the tests above would catch its absence).
TEST(BlockedWorker, WithTheTakeoverOffATimerWaitsForItsBlockedWorker) {
  Observed seen;
  weft::run(
      [&] {
        auto blocker = weft::create_task([&] {
          seen.blocker_thread = current_thread();
          weft::get_running_loop().call_later(0.02, [&] { seen.mark_ran(); });
          seen.block();
        });
        weft::await(blocker);
        weft::sleep(0.05);
      },
      weft::RunOptions{.workers = 2, .blocked_worker_after = 0});
  ASSERT_TRUE(seen.ran.load());
  EXPECT_FALSE(seen.ran_while_blocked.load());
}

TEST(BlockedWorker, DebugReportNamesTheTaskAndTheWayOut) {
  WarningCapture warnings;
  weft::run(
      [&] {
        auto blocker =
            weft::create_task([] { std::this_thread::sleep_for(kBlock); }, "the-blocker");
        weft::await(blocker);
      },
      weft::RunOptions{.workers = 2, .debug = true});
  // One report per stall from the monitor while it lasts, and one slow-step report when it ends
  // (asyncio's "Executing ... took"). Only the blocker's count: under a loaded sanitizer build
  // another step may really stall past the threshold too, and is rightly reported.
  std::vector<weft::Warning> reports;
  int slow_step_reports = 0;
  for (auto& report : warnings.of("WARNING")) {
    if (report.message.find("name='the-blocker'") == std::string::npos) continue;
    if (report.message.find("inside one step") != std::string::npos) reports.push_back(report);
    if (report.message.rfind("Executing ", 0) == 0) ++slow_step_reports;
  }
  EXPECT_EQ(slow_step_reports, 1);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_NE(reports[0].message.find("<Task pending name='the-blocker'"), std::string::npos)
      << reports[0].message;
  EXPECT_NE(reports[0].message.find("weft::to_thread"), std::string::npos) << reports[0].message;
}

// Without debug mode nothing is reported: the takeover is silent.
TEST(BlockedWorker, WithoutDebugModeATakeoverIsSilent) {
  WarningCapture warnings;
  weft::run([] { std::this_thread::sleep_for(std::chrono::milliseconds(100)); },
            weft::RunOptions{.workers = 2});
  EXPECT_TRUE(warnings.of("WARNING").empty());
}

TEST(BlockedWorker, ANegativeOrNaNThresholdIsAValueError) {
  for (double bad : {-1.0, std::nan("")}) {
    try {
      weft::Runtime runtime(weft::RunOptions{.workers = 2, .blocked_worker_after = bad});
      ADD_FAILURE() << "accepted " << bad;
    } catch (const weft::ValueError& error) {
      EXPECT_NE(std::string(error.what()).find("blocked_worker_after"), std::string::npos);
    }
  }
  // inf: never (accepted, as asyncio takes an infinite delay).
  weft::Runtime never(weft::RunOptions{
      .workers = 2, .blocked_worker_after = std::numeric_limits<double>::infinity()});
  EXPECT_EQ(never.workers(), 2u);
}

}  // namespace
