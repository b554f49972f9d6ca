// to_thread: blocking work on the pool. The result or exception comes back to the awaiting
// task, which suspends meanwhile (its worker runs other tasks); the work runs on another thread;
// cancelling the awaiting task leaves the job to finish harmlessly; virtual time waits for it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;

TEST(ToThread, ReturnsTheResultAndPassesTheArguments) {
  int v = weft::run(
      [] {
        return weft::to_thread([](int a, std::string b) { return a + static_cast<int>(b.size()); },
                               40, std::string("ab"));
      },
      deterministic());
  EXPECT_EQ(v, 42);
}

TEST(ToThread, AVoidJobCompletes) {
  std::atomic<bool> ran{false};
  weft::run([&] { weft::to_thread([&] { ran = true; }); }, deterministic());
  EXPECT_TRUE(ran.load());
}

TEST(ToThread, RethrowsTheJobsException) {
  weft::run(
      [] {
        try {
          weft::to_thread([]() -> int { throw std::length_error("too long"); });
          ADD_FAILURE() << "to_thread returned";
        } catch (const std::length_error& e) {
          EXPECT_STREQ(e.what(), "too long");
        }
      },
      deterministic());
}

TEST(ToThread, RunsOnAThreadThatIsNotTheWorker) {
  weft::run(
      [] {
        auto worker = weft_rt_test::this_thread_id();
        auto job = weft::to_thread([] { return std::this_thread::get_id(); });
        EXPECT_NE(job, worker);
        EXPECT_NE(job, weft_rt_test::this_thread_id());
      },
      weft::RunOptions{.workers = 1});
}

TEST(ToThread, OutsideATaskThrowsRuntimeError) {
  EXPECT_THROW(weft::to_thread([] { return 1; }), weft::RuntimeError);
}

TEST(ToThread, TheAwaitingTaskSuspendsSoItsOnlyWorkerRunsOtherTasks) {
  // With one worker, the job can only see `progressed` if the worker went on to run another
  // task while the job blocked. (The job gives up after a long guard instead of hanging.)
  Log log;
  bool saw_progress = weft::run(
      [&] {
        std::atomic<bool> progressed{false};
        auto other = weft::create_task([&] {
          log.add("other runs");
          progressed = true;
        });
        bool seen = weft::to_thread([&] {
          auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
          while (!progressed.load() && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
          }
          return progressed.load();
        });
        log.add("to_thread returned");
        weft::await(other);
        return seen;
      },
      weft::RunOptions{.workers = 1});
  EXPECT_TRUE(saw_progress);
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"other runs", "to_thread returned"}));
}

TEST(ToThread, ManyJobsRunAtOnceOnThePool) {
  // Four jobs that each wait for all four to have started: they must run concurrently.
  constexpr int n = 4;
  std::atomic<int> started{0};
  int ok = weft::run(
      [&] {
        std::vector<weft::Task<bool>> tasks;
        for (int i = 0; i < n; ++i) {
          tasks.push_back(weft::create_task([&] {
            return weft::to_thread([&] {
              ++started;
              auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
              while (started.load() < n && std::chrono::steady_clock::now() < until) {
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
              }
              return started.load() == n;
            });
          }));
        }
        int count = 0;
        for (auto& t : tasks) count += weft::await(t) ? 1 : 0;
        return count;
      },
      weft::RunOptions{.workers = 1, .to_thread_threads = 4});
  EXPECT_EQ(ok, n);
}

TEST(ToThread, CancellingTheAwaitingTaskLetsTheJobFinishHarmlessly) {
  // asyncio: the task gets CancelledError at once; the thread runs on, and its outcome is
  // dropped (the executor future is cancelled). It must not take the process down.
  std::atomic<bool> job_started{false};
  std::atomic<bool> job_finished{false};
  weft::run(
      [&] {
        auto t = weft::create_task([&] {
          return weft::to_thread([&] {
            job_started = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            job_finished = true;
            return 1;
          });
        });
        while (!job_started.load()) weft::sleep(std::chrono::milliseconds(1));
        EXPECT_TRUE(t.cancel("stop waiting"));
        try {
          weft::await(t);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "stop waiting");
        }
        EXPECT_TRUE(t.cancelled());
      },
      weft::RunOptions{.workers = 1});
  EXPECT_TRUE(job_finished.load());  // run() waited for the pool
}

TEST(ToThread, AJobFailingAfterItsTaskWasCancelledIsDroppedToo) {
  std::atomic<bool> job_started{false};
  weft::run(
      [&] {
        auto t = weft::create_task([&] {
          weft::to_thread([&] {
            job_started = true;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            throw std::runtime_error("too late");
          });
        });
        while (!job_started.load()) weft::sleep(std::chrono::milliseconds(1));
        t.cancel();
        EXPECT_THROW(weft::await(t), weft::CancelledError);
      },
      weft::RunOptions{.workers = 1});
}

TEST(ToThread, VirtualTimeDoesNotJumpWhileBlockingWorkIsInFlight) {
  // The clock may only jump when nothing but timers can make progress; a running job can.
  weft::run(
      [] {
        auto sleeper = weft::create_task([] { weft::sleep(3600.0); });
        double seen = weft::to_thread([] {
          std::this_thread::sleep_for(std::chrono::milliseconds(30));
          return 0.0;
        });
        (void)seen;
        EXPECT_EQ(weft::get_running_loop().time(), 0.0);
        EXPECT_FALSE(sleeper.done());
        sleeper.cancel();
        EXPECT_THROW(weft::await(sleeper), weft::CancelledError);
      },
      deterministic());
}

TEST(ToThread, AlternatingWithSleepsInVirtualTimeNeverStalls) {
  // Right after a job ends, the pool still counts it as in flight for a moment; a worker that
  // parks in that moment must still be woken to advance the clock.
  const int rounds = static_cast<int>(weft_rt_test::scaled(2000));
  double end = weft::run(
      [rounds = rounds] {  // an init-capture: g++ needs the capture, clang 14 calls it unused
        for (int i = 0; i < rounds; ++i) {
          weft::to_thread([] {});
          weft::sleep(1.0);
        }
        return weft::get_running_loop().time();
      },
      deterministic());
  EXPECT_DOUBLE_EQ(end, rounds);
}

}  // namespace
