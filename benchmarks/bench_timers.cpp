// Timers and idleness, side by side: weft, Boost.Fiber (work_stealing) and, for idleness,
// oneTBB (which has no timers).
//
//   sleep_timers  100k tasks each sleep 10 ms (real time; weft::sleep,
//                 boost::this_fiber::sleep_for); every one must wake. Total ms from the first
//                 spawn to the last join: ideally just over 10.
//   idle_cpu      a started runtime with nothing to do: CPU time (user + system, the whole
//                 process) burnt per second of wall time, in ms/s, over 1 s.
// Go's versions are in benchmarks/go.
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <atomic>
#include <latch>
#include <thread>

#include "common/workload.hpp"

namespace {

using cmp::Clock;
using cmp::failed;
using cmp::measured;
using cmp::Outcome;
using cmp::seconds_since;

// ---- sleep_timers -----------------------------------------------------------------------------

constexpr int kSleepers = 100'000;
constexpr auto kSleep = std::chrono::milliseconds(10);

Outcome sleep_result(double seconds, std::int64_t woke) {
  if (woke != kSleepers) {
    return failed(std::to_string(woke) + " of " + std::to_string(kSleepers) + " sleepers woke");
  }
  return measured(seconds * 1e3);
}

Outcome sleep_timers_weft(int threads) {
  weft::Runtime runtime({.workers = static_cast<unsigned>(threads)});
  auto [seconds, woke] = cmp::weft_run(runtime, [] {
    std::vector<weft::Task<int>> tasks;
    tasks.reserve(kSleepers);
    const auto start = Clock::now();
    for (int i = 0; i < kSleepers; ++i) {
      tasks.push_back(weft::create_task([] { return weft::sleep(kSleep, 1); }));
    }
    std::int64_t woke = 0;
    for (auto& t : tasks) woke += weft::await(t);
    return std::pair{seconds_since(start), woke};
  });
  return cmp::with_weft_profile(sleep_result(seconds, woke), runtime, kSleepers);
}

Outcome sleep_timers_fiber(int threads, bool suspend) {
  cmp::fiber::start(threads, suspend, cmp::fiber::Caller::joins);
  auto [seconds, woke] = cmp::fiber_run([] {
    std::vector<boost::fibers::fiber> fibers;
    fibers.reserve(kSleepers);
    std::atomic<std::int64_t> woke{0};
    const auto start = Clock::now();
    for (int i = 0; i < kSleepers; ++i) {
      fibers.push_back(cmp::fiber::launch([&woke] {
        boost::this_fiber::sleep_for(kSleep);
        woke.fetch_add(1, std::memory_order_relaxed);
      }));
    }
    for (auto& f : fibers) f.join();
    return std::pair{seconds_since(start), woke.load()};
  });
  return sleep_result(seconds, woke);
}

// ---- idle_cpu ---------------------------------------------------------------------------------

// CPU milliseconds per second this process burns over one second in which its runtime has
// nothing to do.
Outcome idle_cpu_now() {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // let the workers settle
  const double cpu = cmp::cpu_seconds();
  const auto start = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  return measured((cmp::cpu_seconds() - cpu) * 1e3 / seconds_since(start));
}

Outcome idle_cpu_weft(int threads) {
  weft::Runtime runtime({.workers = static_cast<unsigned>(threads)});
  // Give every worker something to do first, so all have started and gone idle.
  cmp::weft_run(runtime, [] {
    std::vector<weft::Task<int>> tasks;
    for (int i = 0; i < 64; ++i) tasks.push_back(weft::create_task([] { return 1; }));
    for (auto& t : tasks) weft::await(t);
    return 0;
  });
  return idle_cpu_now();
}

Outcome idle_cpu_fiber(int threads, bool suspend) {
  // Every worker runs a few fibers first. Never freed: a worker may touch it after wait().
  auto* warm = new std::latch(threads);
  cmp::fiber::start(threads, suspend, cmp::fiber::Caller::stays_out, [warm] {
    for (int i = 0; i < 32; ++i) cmp::fiber::launch([] {}).join();
    warm->count_down();
  });
  warm->wait();
  return idle_cpu_now();
}

Outcome idle_cpu_tbb(int threads) {
  tbb::global_control workers(tbb::global_control::max_allowed_parallelism, threads + 1);
  tbb::task_arena arena(threads, 0);
  auto* warm = new std::latch(64);  // as above
  for (int i = 0; i < 64; ++i) arena.enqueue([warm] { warm->count_down(); });
  warm->wait();
  return idle_cpu_now();
}

void register_all() {
  for (int threads : cmp::worker_counts()) {
    cmp::add("sleep_timers", "weft", threads, "ms",
             [threads] { return sleep_timers_weft(threads); });
    for (auto [name, suspend] : cmp::fiber_variants(threads)) {
      cmp::add("sleep_timers", name, threads, "ms",
               [threads, suspend = suspend] { return sleep_timers_fiber(threads, suspend); });
    }
  }
  for (int threads : cmp::worker_counts()) {
    cmp::add("idle_cpu", "weft", threads, "cpu ms/s", [threads] { return idle_cpu_weft(threads); });
    for (auto [name, suspend] : cmp::fiber_variants(threads)) {
      cmp::add("idle_cpu", name, threads, "cpu ms/s",
               [threads, suspend = suspend] { return idle_cpu_fiber(threads, suspend); });
    }
    cmp::add("idle_cpu", "onetbb", threads, "cpu ms/s",
             [threads] { return idle_cpu_tbb(threads); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  return cmp::run_main(argc, argv);
}
