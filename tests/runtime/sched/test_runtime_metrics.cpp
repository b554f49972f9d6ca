// Runtime::metrics() (weft/runtime_metrics.hpp): each figure against a workload whose count is
// known -- spawns, steps, steals, parks, the LIFO slot, hand-offs, overflow, queue depths,
// sleepers, I/O waiters, busy time, the pools -- and a reader racing the workers (TSan).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::eventually;
using weft_rt_test::kSanitized;

using Clock = std::chrono::steady_clock;

weft::RuntimeMetrics here() {
  return weft::get_running_loop().metrics();
}

// Spins on the worker's thread (no await): the step, and so the worker, stays busy.
void spin_for(std::chrono::milliseconds how_long) {
  const auto until = Clock::now() + how_long;
  while (Clock::now() < until) {
  }
}

// Waits (in a task) until `condition` holds, sleeping a millisecond between looks.
template <class Condition>
bool eventually_in_task(Condition condition) {
  for (int i = 0; i < 10'000; ++i) {
    if (condition()) return true;
    weft::sleep(0.001);
  }
  return condition();
}

class RuntimeMetrics : public ::testing::TestWithParam<unsigned> {};

TEST_P(RuntimeMetrics, NumWorkersFromOutsideAndFromATask) {
  weft::Runtime rt({.workers = GetParam()});
  weft::RuntimeMetrics outside = rt.metrics();
  EXPECT_EQ(outside.num_workers, GetParam());
  EXPECT_EQ(outside.workers.size(), GetParam());
  auto inside = weft::run_coroutine_threadsafe([] { return here().num_workers; }, rt);
  EXPECT_EQ(inside.result(), GetParam());
}

TEST(RuntimeMetricsOneWorker, SpawnedAndStepsCountTheTasksCreatedOnAWorker) {
  constexpr int n = 50;
  weft::run(
      [] {
        const weft::RuntimeMetrics before = here();
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < n; ++i) tasks.push_back(weft::create_task([] {}));
        for (auto& t : tasks) weft::await(t);
        const weft::RuntimeMetrics after = here();
        EXPECT_EQ(after.workers[0].spawned_tasks_count - before.workers[0].spawned_tasks_count,
                  std::uint64_t{n});
        // Each child took one step (it ended in it), and this task took more than one.
        EXPECT_GE(after.workers[0].step_count - before.workers[0].step_count, std::uint64_t{n});
        // weft::run made main from its own thread, off the workers.
        EXPECT_GE(after.remote_spawned_tasks_count, 1u);
      },
      {.workers = 1});
}

TEST_P(RuntimeMetrics, TasksSubmittedFromOutsideCountAsRemoteSpawns) {
  constexpr int n = 20;
  weft::Runtime rt({.workers = GetParam()});
  std::vector<weft::ConcurrentFuture<int>> futures;
  for (int i = 0; i < n; ++i) {
    futures.push_back(weft::run_coroutine_threadsafe([i] { return i; }, rt));
  }
  for (auto& f : futures) f.result();
  const weft::RuntimeMetrics m = rt.metrics();
  EXPECT_EQ(m.remote_spawned_tasks_count, std::uint64_t{n});
  EXPECT_EQ(m.total(&weft::WorkerMetrics::spawned_tasks_count), 0u);
  EXPECT_GE(m.total(&weft::WorkerMetrics::step_count), std::uint64_t{n});
}

TEST_P(RuntimeMetrics, AliveTasksAreTheTasksNotDone) {
  constexpr int n = 7;
  weft::run(
      [] {
        weft::Event go;
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < n; ++i) tasks.push_back(weft::create_task([&go] { go.wait(); }));
        EXPECT_EQ(here().num_alive_tasks, std::uint64_t{n + 1});  // and main
        go.set();
        for (auto& t : tasks) weft::await(t);
        EXPECT_EQ(here().num_alive_tasks, 1u);
      },
      {.workers = GetParam()});
}

TEST_P(RuntimeMetrics, ASleepingTaskIsATimerWaiterUntilItWakes) {
  weft::run(
      [] {
        EXPECT_EQ(here().timer_waiters, 0u);
        auto sleeper = weft::create_task([] { weft::sleep(0.05); });
        auto long_sleeper = weft::create_task([] { weft::sleep(3600.0); });
        EXPECT_TRUE(eventually_in_task([] { return here().timer_waiters == 2; }))
            << here().timer_waiters;
        weft::await(sleeper);  // woken by its timer
        EXPECT_EQ(here().timer_waiters, 1u);
        long_sleeper.cancel();  // woken by cancel(): its timer stays queued, stale
        EXPECT_THROW(weft::await(long_sleeper), weft::CancelledError);
        EXPECT_EQ(here().timer_waiters, 0u);
      },
      {.workers = GetParam()});
}

TEST_P(RuntimeMetrics, ATaskWaitingOnASocketIsAnIoWaiter) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  const int peer = fds[1];
  weft::run(
      [&fds, peer] {
        weft::Socket sock = weft::Socket::adopt(fds[0]);
        EXPECT_EQ(here().io_waiters, 0u);
        auto reader = weft::create_task([&sock] { return weft::sock_recv(sock, 16); });
        EXPECT_TRUE(eventually_in_task([] { return here().io_waiters == 1; }));
        ASSERT_EQ(::send(peer, "x", 1, 0), 1);
        EXPECT_EQ(weft::await(reader), "x");
        EXPECT_EQ(here().io_waiters, 0u);
      },
      {.workers = GetParam()});
  ::close(peer);
}

TEST(RuntimeMetricsOneWorker, InjectionDepthCountsSubmissionsNotPickedUpYet) {
  constexpr int n = 5;
  // One worker, held inside one step: nothing takes the submissions off the injection queue.
  weft::Runtime rt({.workers = 1, .blocked_worker_after = 0});
  std::atomic<bool> holding{false};
  std::atomic<bool> release{false};
  auto holder = weft::run_coroutine_threadsafe(
      [&] {
        holding.store(true);
        while (!release.load()) std::this_thread::yield();
      },
      rt);
  ASSERT_TRUE(eventually([&] { return holding.load(); }));
  EXPECT_EQ(rt.metrics().injection_queue_depth, 0u);
  std::vector<weft::ConcurrentFuture<int>> futures;
  for (int i = 0; i < n; ++i) {
    futures.push_back(weft::run_coroutine_threadsafe([i] { return i; }, rt));
  }
  EXPECT_EQ(rt.metrics().injection_queue_depth, std::uint64_t{n});
  release.store(true);
  holder.result();
  for (auto& f : futures) f.result();
  EXPECT_EQ(rt.metrics().injection_queue_depth, 0u);
}

TEST(RuntimeMetricsOneWorker, LocalQueueDepthCountsTheTasksQueuedOnTheWorker) {
  constexpr int n = 10;
  weft::run(
      [] {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < n; ++i) tasks.push_back(weft::create_task([] {}));
        EXPECT_EQ(here().workers[0].local_queue_depth, std::uint64_t{n});
        for (auto& t : tasks) weft::await(t);
        EXPECT_EQ(here().workers[0].local_queue_depth, 0u);
      },
      {.workers = 1});
}

TEST(RuntimeMetricsOneWorker, AFullLocalQueueOverflowsToTheInjectionQueue) {
  weft::run(
      [] {
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < 200; ++i) tasks.push_back(weft::create_task([] {}));
        EXPECT_EQ(here().workers[0].overflow_count, 0u);  // 200 fit in the ring (256)
        for (int i = 0; i < 100; ++i) tasks.push_back(weft::create_task([] {}));
        const weft::RuntimeMetrics m = here();
        EXPECT_EQ(m.workers[0].overflow_count, 1u);  // the 257th moved half the ring out
        EXPECT_GT(m.injection_queue_depth, 0u);
        for (auto& t : tasks) weft::await(t);
      },
      {.workers = 1});
}

TEST(RuntimeMetricsOneWorker, AnIdleWorkerParksAndASubmissionUnparksIt) {
  weft::Runtime rt({.workers = 1});
  ASSERT_TRUE(eventually([&] { return rt.metrics().workers[0].park_count >= 1; }));
  const std::uint64_t unparks = rt.metrics().workers[0].unpark_count;
  EXPECT_EQ(weft::run_coroutine_threadsafe([] { return 1; }, rt).result(), 1);
  // The submitter found the worker on the parked list and woke it.
  EXPECT_GT(rt.metrics().workers[0].unpark_count, unparks);
  ASSERT_TRUE(eventually([&] { return rt.metrics().workers[0].park_count >= 2; }));
}

TEST(RuntimeMetricsOneWorker, BusyTimeGrowsWithASpinningTaskAndNotWhileParked) {
  weft::Runtime rt({.workers = 1, .blocked_worker_after = 0});
  ASSERT_TRUE(eventually([&] { return rt.metrics().workers[0].park_count >= 1; }));
  const std::uint64_t before = rt.metrics().workers[0].busy_ns;
  std::atomic<bool> spinning{false};
  auto spinner = weft::run_coroutine_threadsafe(
      [&spinning] {
        spinning.store(true);
        spin_for(std::chrono::milliseconds(60));
      },
      rt);
  ASSERT_TRUE(eventually([&] { return spinning.load(); }));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Read while the step still runs: the worker is awake, its time counts already.
  const std::uint64_t during = rt.metrics().workers[0].busy_ns;
  EXPECT_GE(during - before, 15'000'000u);
  spinner.result();
  ASSERT_TRUE(eventually([&] {
    auto m = rt.metrics();
    return m.workers[0].park_count >= 2 && m.workers[0].busy_ns >= before + 50'000'000u;
  }));
  // Parked now: 100 ms of idleness add (next to) nothing.
  const weft::RuntimeMetrics idle_start = rt.metrics();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const weft::RuntimeMetrics idle_end = rt.metrics();
  if (idle_end.workers[0].park_count == idle_start.workers[0].park_count) {
    EXPECT_LT(idle_end.workers[0].busy_ns - idle_start.workers[0].busy_ns, 5'000'000u);
  }
}

TEST(RuntimeMetricsTwoWorkers, AFanOutIsStolen) {
  // Spawns go to the creator's deque and wake the other worker, which steals them. Several
  // rounds, in case the other worker was slow to wake in one.
  weft::Runtime rt({.workers = 2});
  for (int round = 0; round < 50 && rt.metrics().total(&weft::WorkerMetrics::steal_count) == 0;
       ++round) {
    weft::run_coroutine_threadsafe(
        [] {
          std::vector<weft::Task<void>> tasks;
          for (int i = 0; i < 64; ++i) {
            tasks.push_back(weft::create_task([] { spin_for(std::chrono::milliseconds(1)); }));
          }
          for (auto& t : tasks) weft::await(t);
        },
        rt)
        .result();
  }
  const weft::RuntimeMetrics m = rt.metrics();
  const std::uint64_t stolen = m.total(&weft::WorkerMetrics::steal_count);
  const std::uint64_t operations = m.total(&weft::WorkerMetrics::steal_operations);
  EXPECT_GT(stolen, 0u);
  EXPECT_GT(operations, 0u);
  EXPECT_GE(stolen, operations);  // a steal takes one task or more
}

TEST(RuntimeMetricsTwoWorkers, AWokenTaskRunsFromTheLifoSlot) {
  weft::run(
      [] {
        const std::uint64_t before = here().total(&weft::WorkerMetrics::lifo_slot_hits);
        for (int i = 0; i < 100; ++i) {
          weft::Future<int> ping;
          auto child = weft::create_task([ping]() mutable { return weft::await(ping); });
          weft::sleep(0);      // the child runs, and waits on the future
          ping.set_result(i);  // wakes it into this worker's LIFO slot
          EXPECT_EQ(weft::await(child), i);
        }
        EXPECT_GT(here().total(&weft::WorkerMetrics::lifo_slot_hits), before);
      },
      {.workers = 2});
}

TEST(RuntimeMetricsOneWorker, OneWorkerHasNoLifoSlot) {
  // asyncio's FIFO order: a woken task joins the back of the queue.
  weft::run(
      [] {
        for (int i = 0; i < 20; ++i) {
          weft::Future<int> ping;
          auto child = weft::create_task([ping]() mutable { return weft::await(ping); });
          weft::sleep(0);
          ping.set_result(i);
          weft::await(child);
        }
        EXPECT_EQ(here().workers[0].lifo_slot_hits, 0u);
      },
      {.workers = 1});
}

TEST(RuntimeMetricsTwoWorkers, ContinuationStealingHandsOff) {
  weft::run(
      [] {
        for (int i = 0; i < 10; ++i) weft::await(weft::create_task([] {}));
        EXPECT_GE(here().total(&weft::WorkerMetrics::hand_offs), 10u);
      },
      {.workers = 2, .eager_tasks = true, .continuation_stealing = true});
}

TEST_P(RuntimeMetrics, StacksInUseAreTheStartedTasksNotDone) {
  constexpr int n = 6;
  weft::run(
      [] {
        weft::Event go;
        std::vector<weft::Task<void>> tasks;
        for (int i = 0; i < n; ++i) tasks.push_back(weft::create_task([&go] { go.wait(); }));
        // Each child has a stack once it has started, main has one too.
        EXPECT_TRUE(eventually_in_task([] { return here().stacks_in_use == n + 1; }))
            << here().stacks_in_use;
        go.set();
        for (auto& t : tasks) weft::await(t);
        EXPECT_EQ(here().stacks_in_use, 1u);
      },
      {.workers = GetParam()});
}

TEST(RuntimeMetricsOneWorker, PoolHitsAndMissesCountEveryTaskAllocation) {
  constexpr int n = 40;
  weft::run(
      [] {
        const weft::WorkerMetrics before = here().workers[0];
        for (int i = 0; i < n; ++i) weft::await(weft::create_task([] {}));
        const weft::WorkerMetrics after = here().workers[0];
        // One stack per task, taken and given back on the one worker; from the second task on,
        // the first's stack waits warm in this thread's cache.
        EXPECT_EQ(after.stack_pool_hits + after.stack_pool_misses -
                      (before.stack_pool_hits + before.stack_pool_misses),
                  std::uint64_t{n});
        EXPECT_EQ(after.stacks_released - before.stacks_released, std::uint64_t{n});
        EXPECT_GE(after.stack_pool_hits - before.stack_pool_hits, std::uint64_t{n - 1});
        // At least a block per task (its state and frame), recycled from the second on --
        // except under a sanitizer, where the pool steps aside and every block is a miss.
        const std::uint64_t blocks = after.block_pool_hits + after.block_pool_misses -
                                     (before.block_pool_hits + before.block_pool_misses);
        EXPECT_GE(blocks, std::uint64_t{n});
        if (kSanitized) {
          EXPECT_EQ(after.block_pool_hits, 0u);
        } else {
          EXPECT_GE(after.block_pool_hits - before.block_pool_hits, std::uint64_t{n - 1});
        }
      },
      {.workers = 1});
}

TEST(RuntimeMetricsTwoWorkers, MetricsStayReadableAfterShutdown) {
  weft::Runtime rt({.workers = 2});
  weft::run_coroutine_threadsafe([] { weft::sleep(0); }, rt).result();
  rt.shutdown();
  const weft::RuntimeMetrics m = rt.metrics();
  EXPECT_EQ(m.num_alive_tasks, 0u);
  EXPECT_GE(m.total(&weft::WorkerMetrics::step_count), 2u);
  // Nobody is awake any more: busy time stands still.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(rt.metrics().total(&weft::WorkerMetrics::busy_ns),
            m.total(&weft::WorkerMetrics::busy_ns));
}

INSTANTIATE_TEST_SUITE_P(Workers, RuntimeMetrics, ::testing::Values(1u, 2u));

// A thread reads the metrics while four workers run a fan-out: every counter only grows, and
// TSan sees the reads and the workers' writes race only through atomics.
TEST(RuntimeMetricsStress, ReadersSeeCountersOnlyGrow) {
  weft::Runtime rt({.workers = 4});
  std::atomic<bool> done{false};
  std::atomic<long> reads{0};
  std::thread reader([&] {
    weft::RuntimeMetrics last = rt.metrics();
    while (!done.load()) {
      weft::RuntimeMetrics now = rt.metrics();
      for (std::size_t i = 0; i < now.workers.size(); ++i) {
        const weft::WorkerMetrics& a = last.workers[i];
        const weft::WorkerMetrics& b = now.workers[i];
        EXPECT_GE(b.step_count, a.step_count);
        EXPECT_GE(b.steal_count, a.steal_count);
        EXPECT_GE(b.park_count, a.park_count);
        EXPECT_GE(b.spawned_tasks_count, a.spawned_tasks_count);
        EXPECT_GE(b.busy_ns, a.busy_ns);
        EXPECT_GE(b.stacks_released, a.stacks_released);
      }
      last = std::move(now);
      reads.fetch_add(1);
    }
  });
  const int rounds = static_cast<int>(weft_rt_test::scaled(200));
  for (int round = 0; round < rounds; ++round) {
    weft::run_coroutine_threadsafe(
        [] {
          std::vector<weft::Task<void>> tasks;
          for (int i = 0; i < 32; ++i) {
            tasks.push_back(weft::create_task([] {
              weft::sleep(0);
              weft::create_task([] {});
            }));
          }
          for (auto& t : tasks) weft::await(t);
        },
        rt)
        .result();
  }
  ASSERT_TRUE(eventually([&] { return reads.load() > 10; }));
  done.store(true);
  reader.join();
  const weft::RuntimeMetrics m = rt.metrics();
  EXPECT_EQ(m.total(&weft::WorkerMetrics::spawned_tasks_count), std::uint64_t(rounds) * 64);
  EXPECT_EQ(m.remote_spawned_tasks_count, std::uint64_t(rounds));
}

}  // namespace
