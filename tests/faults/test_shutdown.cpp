// Shutting a runtime down: concurrently from several threads (the second caller waits for the
// first and returns), and from inside itself (refused with RuntimeError, or done for the caller
// without aborting and without leaving its threads behind).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "faults_test_support.hpp"

namespace {

using weft_faults_test::eventually;
using weft_faults_test::scaled;

// The number of threads of this process.
int thread_count() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) return std::stoi(line.substr(8));
  }
  return -1;
}

// The threads of this process when no runtime is alive, after one has been: ThreadSanitizer starts
// a background thread of its own once the process has made its first thread, so a count taken
// before any runtime existed was one short under TSan.
int thread_count_at_rest() {
  { weft::Runtime warm_up({.workers = 1}); }
  return thread_count();
}

// Submits `n` tasks that sleep until cancelled, counting those that started and those whose
// sleep the cancellation ended, and waits until every one has started.
void start_sleepers(weft::Runtime& rt, int n, std::atomic<int>& started,
                    std::atomic<int>& cancelled) {
  for (int i = 0; i < n; ++i) {
    (void)weft::run_coroutine_threadsafe(
        [&cancelled, &started] {
          try {
            started.fetch_add(1);
            weft::sleep(3600.0);
          } catch (const weft::CancelledError&) {
            cancelled.fetch_add(1);
            throw;
          }
        },
        rt);
  }
  ASSERT_TRUE(eventually([&] { return started.load() == n; }));
}

TEST(ShutdownStress, ConcurrentShutdownCallsAllReturnAfterTheRuntimeStopped) {
  const int rounds = static_cast<int>(scaled(200));
  for (int r = 0; r < rounds; ++r) {
    auto rt = std::make_unique<weft::Runtime>(weft::RunOptions{.workers = 1u + r % 3});
    std::atomic<int> cancelled{0}, started{0};
    // Some tasks to cancel and wait for, so the callers overlap inside shutdown().
    start_sleepers(*rt, 8, started, cancelled);
    std::atomic<int> returned{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> callers;
    for (int t = 0; t < 3; ++t) {
      callers.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        rt->shutdown();
        // Whoever returns first, the runtime has stopped: every task was cancelled.
        EXPECT_EQ(cancelled.load(), 8);
        returned.fetch_add(1);
      });
    }
    go.store(true);
    ASSERT_TRUE(eventually([&] { return returned.load() == 3; }, std::chrono::seconds(20)))
        << "round " << r << ": concurrent shutdown() calls hung";
    for (auto& c : callers) c.join();
    rt.reset();
  }
}

TEST(Shutdown, FromAToThreadJobOfTheSameRuntimeIsARuntimeError) {
  weft::Runtime rt({.workers = 2});
  auto f = weft::run_coroutine_threadsafe(
      [&rt] {
        return weft::to_thread([&rt]() -> std::string {
          try {
            rt.shutdown();
          } catch (const weft::RuntimeError& e) {
            return e.what();
          }
          return "no error";
        });
      },
      rt);
  std::string message = f.result();
  EXPECT_NE(message.find("cannot be shut down from"), std::string::npos) << message;
}

TEST(Shutdown, FromATaskOfTheSameRuntimeIsARuntimeError) {
  weft::Runtime rt({.workers = 2});
  auto f = weft::run_coroutine_threadsafe(
      [&rt]() -> std::string {
        try {
          rt.shutdown();
        } catch (const weft::RuntimeError& e) {
          return e.what();
        }
        return "no error";
      },
      rt);
  EXPECT_NE(f.result().find("cannot be shut down from"), std::string::npos);
}

// Destroying a Runtime from one of its own tasks (or a to_thread job) cannot join the thread it
// runs on: the runtime shuts itself down on a thread of its own once the caller has let go, and
// its threads are gone soon after -- none is left running.
TEST(Shutdown, DestroyingTheRuntimeFromItsOwnTaskStopsItsThreads) {
  const int before = thread_count_at_rest();
  for (int round = 0; round < 5; ++round) {
    auto* rt = new weft::Runtime({.workers = 3});
    std::atomic<bool> destroyed{false};
    std::atomic<int> cancelled{0}, started{0};
    start_sleepers(*rt, 4, started, cancelled);
    (void)weft::run_coroutine_threadsafe(
        [rt, &destroyed] {
          delete rt;
          destroyed.store(true);
        },
        *rt);
    ASSERT_TRUE(eventually([&] { return destroyed.load(); }, std::chrono::seconds(20)));
    // The sleepers were cancelled by the shutdown, and every thread of the runtime has ended.
    EXPECT_TRUE(eventually([&] { return cancelled.load() == 4; }, std::chrono::seconds(20)));
    EXPECT_TRUE(eventually([&] { return thread_count() <= before; }, std::chrono::seconds(20)))
        << "threads before: " << before << ", now: " << thread_count();
  }
}

TEST(Shutdown, DestroyingTheRuntimeFromItsToThreadJobStopsItsThreads) {
  const int before = thread_count_at_rest();
  auto* rt = new weft::Runtime({.workers = 2});
  std::atomic<bool> destroyed{false};
  (void)weft::run_coroutine_threadsafe(
      [rt, &destroyed] {
        weft::to_thread([rt, &destroyed] {
          delete rt;
          destroyed.store(true);
        });
      },
      *rt);
  ASSERT_TRUE(eventually([&] { return destroyed.load(); }, std::chrono::seconds(20)));
  EXPECT_TRUE(eventually([&] { return thread_count() <= before; }, std::chrono::seconds(20)))
      << "threads before: " << before << ", now: " << thread_count();
}

TEST(Shutdown, ASecondShutdownReturnsAtOnce) {
  weft::Runtime rt({.workers = 2});
  rt.shutdown();
  rt.shutdown();
  EXPECT_THROW(rt.call_soon([] {}), weft::RuntimeError);
}

}  // namespace
