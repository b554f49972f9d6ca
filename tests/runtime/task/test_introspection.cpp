// current_task() and all_tasks(): the task running this code (empty outside one, the same
// after a migration to another worker) and the tasks not yet done.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;

TEST(CurrentTask, OutsideARuntimeIsNoRunningEventLoopAndTheQueryIsEmpty) {
  // asyncio.current_task() with no running loop: RuntimeError. The non-throwing query is empty.
  EXPECT_THROW((void)weft::current_task(), weft::RuntimeError);
  EXPECT_FALSE(static_cast<bool>(weft::current_task_or_null()));
  EXPECT_FALSE(weft::in_runtime());
}

TEST(CurrentTask, OnAForeignThreadWhileARuntimeRunsThereIsNoRunningLoop) {
  weft::Runtime rt({.workers = 2});
  auto f = weft::run_coroutine_threadsafe([] { weft::sleep(0.0); }, rt);
  EXPECT_THROW((void)weft::current_task(), weft::RuntimeError);
  EXPECT_FALSE(static_cast<bool>(weft::current_task_or_null()));
  EXPECT_FALSE(weft::in_runtime());
  f.result();
}

TEST(CurrentTask, IsTheTaskRunningTheCode) {
  weft::run(
      [] {
        weft::TaskRef main = weft::current_task();
        ASSERT_TRUE(static_cast<bool>(main));
        auto seen = std::make_shared<weft::TaskRef>();
        auto t = weft::create_task([seen] { *seen = weft::current_task(); });
        weft::await(t);
        EXPECT_TRUE(seen->is(t));
        EXPECT_FALSE(*seen == main);
        EXPECT_EQ(seen->get_name(), t.get_name());
        EXPECT_TRUE(weft::current_task() == main);
        *seen = {};  // t's coroutine holds `seen`: break the reference cycle
      },
      deterministic());
}

TEST(CurrentTask, StaysTheSameWhenTheTaskMigratesToAnotherWorker) {
  // Force a migration: while the task waits, two hogs hold both workers; the foreign waker
  // wakes the task and frees only the hog on the *other* worker, so the task resumes there.
  struct Hog {
    std::atomic<bool> release{false};
    std::atomic<std::thread::id> thread{};
  };
  weft::run(
      [] {
        weft::TaskRef me = weft::current_task();
        auto before = weft_rt_test::this_thread_id();
        auto hogs = std::make_shared<std::array<Hog, 2>>();
        std::vector<weft::Task<void>> hog_tasks;
        for (Hog& hog : *hogs) {
          hog_tasks.push_back(weft::create_task([hogs, &hog] {
            hog.thread.store(weft_rt_test::this_thread_id());
            while (!hog.release.load()) std::this_thread::yield();
          }));
        }
        weft::Future<int> wake;
        std::thread waker([wake, hogs, before]() mutable {
          for (Hog& hog : *hogs) {
            while (hog.thread.load() == std::thread::id()) std::this_thread::yield();
          }
          wake.set_result(1);  // both workers are held: we are queued, not running
          for (Hog& hog : *hogs) {
            if (hog.thread.load() != before) hog.release.store(true);
          }
        });
        weft::await(wake);
        auto after = weft_rt_test::this_thread_id();
        for (Hog& hog : *hogs) hog.release.store(true);
        waker.join();
        for (auto& t : hog_tasks) weft::await(t);
        EXPECT_NE(after, before) << "the task did not move";
        EXPECT_TRUE(weft::current_task() == me) << "current_task() changed with the thread";
        EXPECT_EQ(weft::current_task().get_name(), me.get_name());
      },
      weft::RunOptions{.workers = 2});
}

TEST(CurrentTask, InAnInlineAwaitedCoroutineIsTheAwaitingTask) {
  weft::run(
      [] {
        auto me = weft::current_task();
        bool same = weft::await(weft::coro([&] { return weft::current_task() == me; }));
        EXPECT_TRUE(same);
      },
      deterministic());
}

bool contains(const std::vector<weft::TaskRef>& tasks, const weft::TaskRef& task) {
  return std::find(tasks.begin(), tasks.end(), task) != tasks.end();
}

TEST(AllTasks, OutsideARuntimeThrowsRuntimeError) {
  EXPECT_THROW(weft::all_tasks(), weft::RuntimeError);
}

TEST(AllTasks, HoldsTheRunningAndPendingTasksAndADoneOneDisappears) {
  weft::run(
      [] {
        auto me = weft::current_task();
        auto sleeper = weft::create_task([] { weft::sleep(10.0); });
        auto quick = weft::create_task([] { return 1; });
        auto tasks = weft::all_tasks();
        EXPECT_EQ(tasks.size(), 3u);
        EXPECT_TRUE(contains(tasks, me));  // asyncio includes the caller
        EXPECT_TRUE(std::any_of(tasks.begin(), tasks.end(),
                                [&](const weft::TaskRef& t) { return t.is(sleeper); }));
        EXPECT_TRUE(std::any_of(tasks.begin(), tasks.end(),
                                [&](const weft::TaskRef& t) { return t.is(quick); }));
        weft::await(quick);
        tasks = weft::all_tasks();
        EXPECT_EQ(tasks.size(), 2u);
        EXPECT_FALSE(std::any_of(tasks.begin(), tasks.end(),
                                 [&](const weft::TaskRef& t) { return t.is(quick); }));
        sleeper.cancel();
        EXPECT_THROW(weft::await(sleeper), weft::CancelledError);
        tasks = weft::all_tasks();
        ASSERT_EQ(tasks.size(), 1u);
        EXPECT_TRUE(tasks[0] == me);
      },
      deterministic());
}

TEST(AllTasks, ATaskRefCanCancelATask) {
  weft::run(
      [] {
        auto sleeper = weft::create_task([] { weft::sleep(10.0); }, "sleeper");
        weft::sleep(0.0);
        for (auto& t : weft::all_tasks()) {
          if (t.get_name() == "sleeper") {
            EXPECT_TRUE(t.cancel("by name"));
          }
        }
        try {
          weft::await(sleeper);
          ADD_FAILURE();
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "by name");
        }
      },
      deterministic());
}

TEST(AllTasks, SeesTasksOnEveryWorker) {
  weft::run(
      [] {
        constexpr int n = 64;
        std::vector<weft::Task<void>> tasks;
        weft::Future<> gate;
        for (int i = 0; i < n; ++i) {
          tasks.push_back(weft::create_task([gate] {
            // Spread out: new tasks created from other workers register in other shards.
            weft::create_task([gate] { weft::await(gate); });
            weft::await(gate);
          }));
        }
        while (weft::all_tasks().size() < 2 * n + 1) weft::sleep(0.0);
        EXPECT_EQ(weft::all_tasks().size(), 2u * n + 1);
        gate.set_result();
        for (auto& t : tasks) weft::await(t);
        while (weft::all_tasks().size() > 1) weft::sleep(0.0);
        EXPECT_EQ(weft::all_tasks().size(), 1u);
      },
      weft::RunOptions{.workers = 4});
}

}  // namespace
