// Spawning and joining, side by side: weft (and its weft-eager variant), Boost.Fiber
// (work_stealing) and oneTBB.
//
//   skynet         a 10-ary task tree of depth 6 (1M leaves, 1,111,111 tasks); each leaf returns
//                  its number, each node the sum of its children: 499999500000. Total ms.
//   spawn_join     one task spawns 1M trivial tasks, then joins them all. ns per task.
//   gather_fanout  one task gathers 10k tasks (weft::gather); 10 rounds. ns per task.
//
// Every task records that it ran; a wrong sum or a task run twice (or never) fails the run.
// Go's versions are in benchmarks/go.
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include <array>
#include <atomic>

#include "common/workload.hpp"

namespace {

using cmp::Clock;
using cmp::failed;
using cmp::measured;
using cmp::Outcome;
using cmp::seconds_since;

// ---- skynet -----------------------------------------------------------------------------------

std::int64_t skynet_weft(std::int64_t number, std::int64_t size) {
  if (size == 1) return number;
  const std::int64_t child = size / 10;
  weft::Task<std::int64_t> children[10];
  for (int i = 0; i < 10; ++i) {
    children[i] = weft::create_task(weft::coro(skynet_weft, number + i * child, child));
  }
  std::int64_t sum = 0;
  for (auto& c : children) sum += weft::await(c);
  return sum;
}

std::int64_t skynet_fiber(std::int64_t number, std::int64_t size) {
  if (size == 1) return number;
  const std::int64_t child = size / 10;
  std::array<std::int64_t, 10> sums{};
  std::array<boost::fibers::fiber, 10> children;
  for (int i = 0; i < 10; ++i) {
    children[i] = cmp::fiber::launch(
        [&sums, i, n = number + i * child, child] { sums[i] = skynet_fiber(n, child); });
  }
  std::int64_t sum = 0;
  for (int i = 0; i < 10; ++i) {
    children[i].join();
    sum += sums[i];
  }
  return sum;
}

std::int64_t skynet_tbb(std::int64_t number, std::int64_t size) {
  if (size == 1) return number;
  const std::int64_t child = size / 10;
  std::array<std::int64_t, 10> sums{};
  tbb::task_group group;
  for (int i = 0; i < 10; ++i) {
    group.run([&sums, i, n = number + i * child, child] { sums[i] = skynet_tbb(n, child); });
  }
  group.wait();
  std::int64_t sum = 0;
  for (auto s : sums) sum += s;
  return sum;
}

Outcome skynet_result(std::int64_t sum, Clock::time_point start) {
  const double ms = seconds_since(start) * 1e3;
  if (sum != cmp::kSkynetSum) return failed("wrong sum " + std::to_string(sum));
  return measured(ms);
}

// ---- spawn_join -------------------------------------------------------------------------------

constexpr std::int64_t kSpawn = 1'000'000;

Outcome spawn_join_result(std::int64_t sum, const std::vector<std::uint8_t>& ran,
                          Clock::time_point start, std::int64_t n) {
  const double ns = seconds_since(start) * 1e9 / static_cast<double>(n);
  if (auto error = cmp::check_ran_once(ran); !error.empty()) return failed(error);
  if (sum != cmp::triangle(n)) return failed("wrong sum " + std::to_string(sum));
  return measured(ns);
}

Outcome spawn_join_weft(const weft::RunOptions& options) {
  weft::Runtime runtime(options);
  std::vector<std::uint8_t> ran(kSpawn);
  const auto start = Clock::now();
  const std::int64_t sum = cmp::weft_run(runtime, [&ran] {
    std::vector<weft::Task<std::int64_t>> tasks;
    tasks.reserve(kSpawn);
    for (std::int64_t i = 0; i < kSpawn; ++i) {
      tasks.push_back(weft::create_task([i, &ran] {
        ++ran[i];
        return i;
      }));
    }
    std::int64_t total = 0;
    for (auto& task : tasks) total += weft::await(task);
    return total;
  });
  return cmp::with_weft_profile(spawn_join_result(sum, ran, start, kSpawn), runtime, kSpawn);
}

// Fibers joined through futures (boost::fibers::async): a fiber detached this way gives its
// stack back when it ends, where a joinable fiber keeps it until joined -- 1M unjoined stacks.
std::int64_t spawn_join_fibers(std::int64_t n, std::uint8_t* ran) {
  std::vector<boost::fibers::future<std::int64_t>> futures;
  futures.reserve(n);
  for (std::int64_t i = 0; i < n; ++i) {
    futures.push_back(boost::fibers::async(boost::fibers::launch::dispatch, std::allocator_arg,
                                           cmp::fiber::stack(), [i, &ran] {
                                             ++ran[i];
                                             return i;
                                           }));
  }
  std::int64_t total = 0;
  for (auto& f : futures) total += f.get();
  return total;
}

Outcome spawn_join_fiber(int threads, bool suspend) {
  cmp::fiber::start(threads, suspend, cmp::fiber::Caller::joins);
  std::vector<std::uint8_t> ran(kSpawn);
  const auto start = Clock::now();
  const std::int64_t sum = cmp::fiber_run([&ran] { return spawn_join_fibers(kSpawn, ran.data()); });
  return spawn_join_result(sum, ran, start, kSpawn);
}

std::int64_t spawn_join_tasks_tbb(std::int64_t n, std::uint8_t* ran, std::int64_t* values) {
  tbb::task_group group;
  for (std::int64_t i = 0; i < n; ++i) {
    group.run([i, ran, values] {
      ++ran[i];
      values[i] = i;
    });
  }
  group.wait();
  std::int64_t total = 0;
  for (std::int64_t i = 0; i < n; ++i) total += values[i];
  return total;
}

// An arena of `threads` slots, one of them this thread's (task_arena's default), workers warm.
void warm_arena(tbb::task_arena& arena) {
  arena.initialize();
  arena.execute([] {
    tbb::task_group group;
    for (int i = 0; i < 64; ++i) group.run([] {});
    group.wait();
  });
}

Outcome spawn_join_tbb(int threads) {
  tbb::task_arena arena(threads);
  warm_arena(arena);
  std::vector<std::uint8_t> ran(kSpawn);
  std::vector<std::int64_t> values(kSpawn);
  const auto start = Clock::now();
  std::int64_t sum = 0;
  arena.execute([&] { sum = spawn_join_tasks_tbb(kSpawn, ran.data(), values.data()); });
  return spawn_join_result(sum, ran, start, kSpawn);
}

// ---- gather_fanout ----------------------------------------------------------------------------

constexpr std::int64_t kFanout = 10'000;
constexpr int kFanoutRounds = 10;

std::int64_t fanout_leaf(std::int64_t i, std::uint8_t* ran) {
  ++ran[i];
  return i;
}

Outcome gather_fanout_weft(const weft::RunOptions& options) {
  weft::Runtime runtime(options);
  std::vector<std::uint8_t> ran(kFanout * kFanoutRounds);
  const auto start = Clock::now();
  const std::string error = cmp::weft_run(runtime, [&ran]() -> std::string {
    for (int round = 0; round < kFanoutRounds; ++round) {
      // Tasks, not coroutines: gather() of a range of Coroutine objects does not compile
      // (gather.hpp names ensure_future of an lvalue Coroutine, a copy).
      std::vector<weft::Task<std::int64_t>> tasks;
      tasks.reserve(kFanout);
      std::uint8_t* slots = ran.data() + round * kFanout;
      for (std::int64_t i = 0; i < kFanout; ++i) {
        tasks.push_back(weft::create_task(weft::coro(fanout_leaf, i, slots)));
      }
      auto results = weft::gather(tasks);
      for (std::int64_t i = 0; i < kFanout; ++i) {
        if (results[i] != i) return "gather: result " + std::to_string(i) + " out of order";
      }
    }
    return {};
  });
  const double ns = seconds_since(start) * 1e9 / (kFanout * kFanoutRounds);
  if (!error.empty()) return failed(error);
  if (auto e = cmp::check_ran_once(ran); !e.empty()) return failed(e);
  return cmp::with_weft_profile(measured(ns), runtime, kFanout * kFanoutRounds);
}

Outcome gather_fanout_fiber(int threads, bool suspend) {
  cmp::fiber::start(threads, suspend, cmp::fiber::Caller::joins);
  std::vector<std::uint8_t> ran(kFanout * kFanoutRounds);
  const auto start = Clock::now();
  const std::int64_t sum = cmp::fiber_run([&ran] {
    std::int64_t total = 0;
    for (int round = 0; round < kFanoutRounds; ++round) {
      total += spawn_join_fibers(kFanout, ran.data() + round * kFanout);
    }
    return total;
  });
  const double ns = seconds_since(start) * 1e9 / (kFanout * kFanoutRounds);
  if (auto e = cmp::check_ran_once(ran); !e.empty()) return failed(e);
  if (sum != kFanoutRounds * cmp::triangle(kFanout)) return failed("wrong sum");
  return measured(ns);
}

Outcome gather_fanout_tbb(int threads) {
  tbb::task_arena arena(threads);
  warm_arena(arena);
  std::vector<std::uint8_t> ran(kFanout * kFanoutRounds);
  std::vector<std::int64_t> values(kFanout);
  const auto start = Clock::now();
  std::int64_t sum = 0;
  arena.execute([&] {
    for (int round = 0; round < kFanoutRounds; ++round) {
      sum += spawn_join_tasks_tbb(kFanout, ran.data() + round * kFanout, values.data());
    }
  });
  const double ns = seconds_since(start) * 1e9 / (kFanout * kFanoutRounds);
  if (auto e = cmp::check_ran_once(ran); !e.empty()) return failed(e);
  if (sum != kFanoutRounds * cmp::triangle(kFanout)) return failed("wrong sum");
  return measured(ns);
}

Outcome skynet_weft_run(const weft::RunOptions& options) {
  weft::Runtime runtime(options);
  const auto start = Clock::now();
  const auto sum = cmp::weft_run(runtime, [] { return skynet_weft(0, cmp::kSkynetLeaves); });
  return cmp::with_weft_profile(skynet_result(sum, start), runtime, cmp::kSkynetTasks);
}

// ---- weft-eager: weft with eager start and continuation stealing (issue 14, item 2) ----------
//
// A variant of weft, not a peer: the same workload code on a runtime built with
// RunOptions{.eager_tasks = true, .continuation_stealing = true} -- every create_task runs the
// new task's first step at once, and with 2+ workers its creator waits in the deque for a thief.

void register_weft_eager(const char* bench, int threads) {
  const weft::RunOptions options{.workers = static_cast<unsigned>(threads),
                                 .eager_tasks = true,
                                 .continuation_stealing = true};
  const std::string name = bench;
  const char* unit = name == "skynet" ? "ms" : "ns/task";
  cmp::add(name, "weft-eager", threads, unit, [name, options]() -> Outcome {
    if (name == "skynet") return skynet_weft_run(options);
    if (name == "spawn_join") return spawn_join_weft(options);
    return gather_fanout_weft(options);
  });
}

weft::RunOptions weft_options(int threads) {
  return {.workers = static_cast<unsigned>(threads)};
}

void register_all() {
  for (int threads : cmp::worker_counts()) {
    cmp::add("skynet", "weft", threads, "ms",
             [threads] { return skynet_weft_run(weft_options(threads)); });
    register_weft_eager("skynet", threads);
    for (auto [name, suspend] : cmp::fiber_variants(threads)) {
      cmp::add("skynet", name, threads, "ms", [threads, suspend = suspend] {
        cmp::fiber::start(threads, suspend, cmp::fiber::Caller::joins);
        const auto start = Clock::now();
        const auto sum = cmp::fiber_run([] { return skynet_fiber(0, cmp::kSkynetLeaves); });
        return skynet_result(sum, start);
      });
    }
    cmp::add("skynet", "onetbb", threads, "ms", [threads] {
      tbb::task_arena arena(threads);
      warm_arena(arena);
      const auto start = Clock::now();
      std::int64_t sum = 0;
      arena.execute([&] { sum = skynet_tbb(0, cmp::kSkynetLeaves); });
      return skynet_result(sum, start);
    });
  }

  for (int threads : cmp::worker_counts()) {
    cmp::add("spawn_join", "weft", threads, "ns/task",
             [threads] { return spawn_join_weft(weft_options(threads)); });
    register_weft_eager("spawn_join", threads);
    for (auto [name, suspend] : cmp::fiber_variants(threads)) {
      cmp::add("spawn_join", name, threads, "ns/task",
               [threads, suspend = suspend] { return spawn_join_fiber(threads, suspend); });
    }
    cmp::add("spawn_join", "onetbb", threads, "ns/task",
             [threads] { return spawn_join_tbb(threads); });
  }

  for (int threads : cmp::worker_counts()) {
    cmp::add("gather_fanout", "weft", threads, "ns/task",
             [threads] { return gather_fanout_weft(weft_options(threads)); });
    register_weft_eager("gather_fanout", threads);
    for (auto [name, suspend] : cmp::fiber_variants(threads)) {
      cmp::add("gather_fanout", name, threads, "ns/task",
               [threads, suspend = suspend] { return gather_fanout_fiber(threads, suspend); });
    }
    cmp::add("gather_fanout", "onetbb", threads, "ns/task",
             [threads] { return gather_fanout_tbb(threads); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  return cmp::run_main(argc, argv);
}
