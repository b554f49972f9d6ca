// weft::Runtime embedded beside a program's own threads: submission from several foreign threads
// at once, graceful destruction (every task submitted before shutdown ends done or cancelled),
// a clear refusal of work submitted after shutdown, and memory given back once idle.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::WarningCapture;

TEST(RuntimeEmbedding, ReportsItsWorkerCount) {
  weft::Runtime rt({.workers = 3});
  EXPECT_EQ(rt.workers(), 3u);
}

TEST(RuntimeEmbedding, ForeignThreadsSubmittingAtOnceAllGetTheirResults) {
  constexpr int threads = 6;
  static constexpr int per_thread = 200;
  weft::Runtime rt({.workers = 4});
  std::vector<std::thread> submitters;
  std::atomic<long> total{0};
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&, t] {
      std::vector<weft::ConcurrentFuture<int>> futures;
      for (int i = 0; i < per_thread; ++i) {
        futures.push_back(weft::run_coroutine_threadsafe(
            [t, i] {
              if (i % 3 == 0) weft::sleep(0.0);
              return t * per_thread + i;
            },
            rt));
      }
      long sum = 0;
      for (auto& f : futures) sum += f.result();
      total += sum;
    });
  }
  for (auto& s : submitters) s.join();
  const long n = threads * per_thread;
  EXPECT_EQ(total.load(), n * (n - 1) / 2);
}

TEST(RuntimeEmbedding, DestroyingTheRuntimeEndsEverySubmittedTaskDoneOrCancelled) {
  constexpr int threads = 4;
  constexpr int per_thread = 50;
  auto rt = std::make_unique<weft::Runtime>(weft::RunOptions{.workers = 4});
  std::atomic<int> handlers{0};
  std::vector<std::vector<weft::ConcurrentFuture<int>>> futures(threads);
  std::vector<std::thread> submitters;
  for (int t = 0; t < threads; ++t) {
    submitters.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        futures[t].push_back(weft::run_coroutine_threadsafe(
            [&handlers, i] {
              if (i % 2 == 0) return i;  // finishes at once
              try {
                weft::sleep(3600.0);  // real time: only shutdown ends it
              } catch (const weft::CancelledError&) {
                ++handlers;
                throw;
              }
              return -1;
            },
            *rt));
      }
    });
  }
  for (auto& s : submitters) s.join();
  rt.reset();  // graceful: cancels what is left and waits for it
  int done = 0, cancelled = 0;
  for (auto& list : futures) {
    for (auto& f : list) {
      ASSERT_TRUE(f.done()) << "a submitted task was lost";
      ASSERT_TRUE(f.task().done());
      if (f.cancelled()) {
        ++cancelled;
        EXPECT_TRUE(f.task().cancelled());
        EXPECT_THROW(f.result(), weft::concurrent::CancelledError);
      } else {
        ++done;
        EXPECT_GE(f.result(), 0);
      }
    }
  }
  // The even ones may or may not have run before shutdown; the odd ones were all cancelled.
  EXPECT_GE(cancelled, threads * per_thread / 2);
  EXPECT_EQ(done + cancelled, threads * per_thread);
  // A task cancelled before its first step never runs its handler; one that was sleeping does.
  EXPECT_LE(handlers.load(), cancelled);
}

TEST(RuntimeEmbedding, RunCoroutineThreadsafeAfterShutdownThrowsAClearRuntimeError) {
  WarningCapture warnings;  // the refused coroutine is reported as never awaited, as in Python
  weft::Runtime rt({.workers = 2});
  rt.shutdown();
  try {
    weft::run_coroutine_threadsafe([] { return 1; }, rt);
    FAIL() << "accepted work after shutdown";
  } catch (const weft::RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("shutting down"), std::string::npos) << e.what();
  }
}

TEST(RuntimeEmbedding, ShutdownIsIdempotent) {
  weft::Runtime rt({.workers = 2});
  auto f = weft::run_coroutine_threadsafe([] { return 5; }, rt);
  EXPECT_EQ(f.result(), 5);
  rt.shutdown();
  rt.shutdown();
  EXPECT_EQ(f.result(), 5);
}

TEST(RuntimeEmbedding, ShutdownFromInsideTheRuntimeIsRefused) {
  weft::Runtime rt({.workers = 2});
  auto f = weft::run_coroutine_threadsafe(
      [] {
        try {
          weft::get_running_loop().shutdown();
        } catch (const weft::RuntimeError& e) {
          return std::string(e.what());
        }
        return std::string("accepted");
      },
      rt);
  EXPECT_NE(f.result().find("cannot be shut down from one of its own"), std::string::npos)
      << f.result();
}

TEST(RuntimeEmbedding, TasksCreatedInsideDuringShutdownAreStillAccepted) {
  // Only submissions from outside are refused once shutdown begins: a task unwinding from its
  // cancellation may still create tasks, which shutdown then cancels (or lets finish) in turn.
  std::atomic<bool> sleeping{false};
  std::string refused = "<not reached>";
  weft::Task<void> child;
  {
    weft::Runtime rt({.workers = 2});
    auto f = weft::run_coroutine_threadsafe(
        [&] {
          try {
            sleeping = true;
            weft::sleep(3600.0);
          } catch (const weft::CancelledError&) {
            try {
              child = weft::create_task([] { weft::sleep(3600.0); });
              refused.clear();
            } catch (const weft::RuntimeError& e) {
              refused = e.what();
            }
            throw;
          }
        },
        rt);
    ASSERT_TRUE(weft_rt_test::eventually([&] { return sleeping.load(); }));
  }
  EXPECT_EQ(refused, "");
  ASSERT_TRUE(static_cast<bool>(child));
  EXPECT_TRUE(child.done()) << "the runtime ended with a task still pending";
  EXPECT_TRUE(child.cancelled());
}

TEST(RuntimeEmbedding, SubmissionsRacingWithShutdownAreRefusedOrCompletedNeverLost) {
  // A submitter that got a future back must see it end, even when shutdown() began at the
  // same moment on another thread.
  WarningCapture warnings;
  const int rounds = weft_rt_test::kSanitized ? 10 : 40;
  for (int round = 0; round < rounds; ++round) {
    auto rt = std::make_unique<weft::Runtime>(weft::RunOptions{.workers = 2});
    std::atomic<bool> go{false};
    std::vector<std::vector<weft::ConcurrentFuture<int>>> accepted(3);
    std::vector<std::thread> submitters;
    for (int t = 0; t < 3; ++t) {
      submitters.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        for (;;) {
          try {
            accepted[t].push_back(weft::run_coroutine_threadsafe(
                [] {
                  weft::sleep(0.0);
                  return 1;
                },
                *rt));
          } catch (const weft::RuntimeError&) {
            return;  // refused: shutdown has begun
          }
        }
      });
    }
    go.store(true);
    std::this_thread::sleep_for(std::chrono::microseconds(200 + 50 * round));
    rt->shutdown();
    for (auto& s : submitters) s.join();
    for (auto& list : accepted) {
      for (auto& f : list)
        ASSERT_TRUE(f.done()) << "round " << round << ": an accepted task was lost";
    }
    rt.reset();
  }
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total_pages = 0;
  std::size_t resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

TEST(RuntimeEmbedding, AnIdleRuntimeGivesBackTheStackPagesOfABurst) {
  // TSan registers every live fiber as a thread and allows about 8k; ASan's quarantine and
  // shadow grow the RSS as the tasks' memory is freed.
  if (weft_rt_test::kSanitized) GTEST_SKIP() << "RSS is not the runtime's alone under sanitizers";
  const int burst = 8192;  // far more than the stack pools keep warm for good (~1k)
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  weft::Runtime rt({.workers = 2});
  weft::Event gate;
  std::atomic<int> waiting{0};
  auto all = weft::run_coroutine_threadsafe(
      [&] {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < burst; ++i) {
          tasks.push_back(weft::create_task([&] {
            waiting.fetch_add(1);
            gate.wait();  // each holds a stack, its top page touched
          }));
        }
        for (auto& t : tasks) weft::await(t);
      },
      rt);
  while (waiting.load() < burst) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::size_t during = resident_bytes();
  rt.call_soon([&] { gate.set(); });
  all.result();
  // The runtime is idle now: at least half the burst's stack pages must go back, within 20 s.
  const std::size_t expected_drop = (burst - 2048) * page / 2;
  std::size_t resident = resident_bytes();
  for (int i = 0; i < 200 && resident + expected_drop > during; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resident = resident_bytes();
  }
  EXPECT_LE(resident + expected_drop, during);
}

TEST(RuntimeEmbedding, TimeReadsTheRuntimesClock) {
  weft::Runtime rt({.workers = 2, .virtual_time = true});
  EXPECT_EQ(rt.time(), 0.0);
  auto f = weft::run_coroutine_threadsafe([] { weft::sleep(3600.0); }, rt);
  f.result();
  EXPECT_DOUBLE_EQ(rt.time(), 3600.0);
}

}  // namespace
