// The runtime's costs: spawning and joining tasks, a task tree (skynet), fiber switches,
// cross-worker wake-ups through Futures, submission from a foreign thread, the memory of a
// suspended task, timers, and the CPU an idle runtime burns.
//
// Every benchmark checks its own result and stops with an error if it is wrong. Each runs once
// (Iterations(1)): the whole binary takes well under two minutes on two cores. The figures that
// matter are the counters (ns per task, bytes per task, ...), measured around the work itself.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <weft/weft.hpp>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `body` as a task on `runtime` from this (foreign) thread and returns its result.
template <class F>
auto run_on(weft::Runtime& runtime, F body) {
  auto future = weft::run_coroutine_threadsafe(weft::coro(std::move(body)), runtime);
  return future.result();
}

// Resident set size in bytes (/proc/self/statm, second field).
std::int64_t resident_bytes() {
  long total = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &total, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// ---- spawn_join: one task creates N trivial tasks, then awaits each of them. With batch = N all
// N tasks exist at once (the spawner runs until its first await); a smaller batch spawns and
// joins `batch` at a time, so task memory is recycled warm (the steady-state cost).
void BM_spawn_join(benchmark::State& state) {
  constexpr std::int64_t n = 1'000'000;
  const std::int64_t batch = state.range(1);
  weft::Runtime runtime({.workers = static_cast<unsigned>(state.range(0))});
  double elapsed = 0;
  for (auto _ : state) {
    auto start = Clock::now();
    std::int64_t sum = run_on(runtime, [batch] {
      std::vector<weft::Task<std::int64_t>> tasks;
      tasks.reserve(batch);
      std::int64_t total = 0;
      for (std::int64_t first = 0; first < n; first += batch) {
        for (std::int64_t i = first; i < first + batch; ++i) {
          tasks.push_back(weft::create_task([i] { return i; }));
        }
        for (auto& task : tasks) total += weft::await(task);
        tasks.clear();
      }
      return total;
    });
    elapsed += seconds_since(start);
    if (sum != n * (n - 1) / 2) {
      state.SkipWithError(("spawn_join: wrong sum " + std::to_string(sum)).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["ns_per_task"] = elapsed * 1e9 / static_cast<double>(state.iterations() * n);
}
BENCHMARK(BM_spawn_join)
    ->ArgNames({"workers", "batch"})
    ->Args({1, 1'000'000})
    ->Args({2, 1'000'000})
    ->Args({1, 1000})
    ->Args({2, 1000})
    ->Iterations(1)
    ->UseRealTime();

// ---- skynet: a 10-ary task tree of depth 6; each leaf returns its number, each node the sum.
std::int64_t skynet(std::int64_t number, std::int64_t size) {
  if (size == 1) return number;
  const std::int64_t child = size / 10;
  weft::Task<std::int64_t> children[10];
  for (int i = 0; i < 10; ++i)
    children[i] = weft::create_task(weft::coro(skynet, number + i * child, child));
  std::int64_t sum = 0;
  for (auto& c : children) sum += weft::await(c);
  return sum;
}

void BM_skynet(benchmark::State& state) {
  constexpr std::int64_t leaves = 1'000'000;
  constexpr std::int64_t tasks = 1'111'111;  // 1 + 10 + ... + 10^6
  weft::Runtime runtime({.workers = static_cast<unsigned>(state.range(0))});
  double elapsed = 0;
  for (auto _ : state) {
    auto start = Clock::now();
    std::int64_t sum = run_on(runtime, [] { return skynet(0, leaves); });
    elapsed += seconds_since(start);
    if (sum != 499'999'500'000) {
      state.SkipWithError(("skynet: wrong sum " + std::to_string(sum)).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * tasks);
  state.counters["ms"] = elapsed * 1e3 / static_cast<double>(state.iterations());
  state.counters["ns_per_task"] = elapsed * 1e9 / static_cast<double>(state.iterations() * tasks);
}
BENCHMARK(BM_skynet)->ArgName("workers")->Arg(1)->Arg(2)->Iterations(1)->UseRealTime();

// ---- yield_switch: two tasks on one worker take turns with sleep(0).
void BM_yield_switch(benchmark::State& state) {
  constexpr std::int64_t yields = 1'000'000;  // per task
  weft::Runtime runtime({.workers = 1});
  double elapsed = 0;
  for (auto _ : state) {
    auto [seconds, order_ok] = run_on(runtime, [] {
      // With one worker the ready queue is FIFO: the two tasks must strictly alternate.
      std::atomic<std::int64_t> turn{0};
      std::atomic<bool> ok{true};
      auto player = [&](std::int64_t parity) {
        for (std::int64_t i = 0; i < yields; ++i) {
          if (turn.load(std::memory_order_relaxed) % 2 != parity) ok = false;
          turn.fetch_add(1, std::memory_order_relaxed);
          weft::sleep(0);
        }
      };
      auto start = Clock::now();
      auto a = weft::create_task(weft::coro(player, std::int64_t{0}));
      auto b = weft::create_task(weft::coro(player, std::int64_t{1}));
      weft::await(a);
      weft::await(b);
      return std::pair{seconds_since(start), ok.load() && turn.load() == 2 * yields};
    });
    elapsed += seconds;
    if (!order_ok) {
      state.SkipWithError("yield_switch: the two tasks did not alternate");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * 2 * yields);
  state.counters["ns_per_switch"] =
      elapsed * 1e9 / static_cast<double>(state.iterations() * 2 * yields);
}
BENCHMARK(BM_yield_switch)->Iterations(1)->UseRealTime();

// ---- pingpong: two tasks hand a token back and forth through Futures, on two workers (and on
// one, for reference: there every hand-off is a plain switch, no cross-thread wake-up).
void BM_pingpong(benchmark::State& state) {
  constexpr int rounds = 100'000;
  weft::Runtime runtime({.workers = static_cast<unsigned>(state.range(0))});
  double elapsed = 0;
  for (auto _ : state) {
    auto [seconds, errors] = run_on(runtime, [] {
      std::vector<weft::Future<int>> ping(rounds), pong(rounds);
      auto ponger = weft::create_task([&] {
        for (int i = 0; i < rounds; ++i) pong[i].set_result(ping[i].await() + 1);
      });
      int wrong = 0;
      auto start = Clock::now();
      for (int i = 0; i < rounds; ++i) {
        ping[i].set_result(i);
        if (pong[i].await() != i + 1) ++wrong;
      }
      double seconds = seconds_since(start);
      weft::await(ponger);
      return std::pair{seconds, wrong};
    });
    elapsed += seconds;
    if (errors != 0) {
      state.SkipWithError("pingpong: a token came back wrong");
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * rounds);
  state.counters["ns_per_round_trip"] =
      elapsed * 1e9 / static_cast<double>(state.iterations() * rounds);
}
BENCHMARK(BM_pingpong)->ArgName("workers")->Arg(2)->Arg(1)->Iterations(1)->UseRealTime();

// ---- foreign_submit: a thread outside the runtime submits N tasks, then waits for them all.
void BM_foreign_submit(benchmark::State& state) {
  constexpr int n = 1'000'000;
  weft::Runtime runtime({.workers = 2});
  double elapsed = 0;
  for (auto _ : state) {
    std::vector<weft::ConcurrentFuture<std::int64_t>> futures;
    futures.reserve(n);
    auto start = Clock::now();
    for (std::int64_t i = 0; i < n; ++i) {
      futures.push_back(weft::run_coroutine_threadsafe(weft::coro([i] { return i; }), runtime));
    }
    std::int64_t sum = 0;
    for (auto& f : futures) sum += f.result();
    elapsed += seconds_since(start);
    if (sum != std::int64_t{n} * (n - 1) / 2) {
      state.SkipWithError(("foreign_submit: wrong sum " + std::to_string(sum)).c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["ns_per_task"] = elapsed * 1e9 / static_cast<double>(state.iterations() * n);
}
BENCHMARK(BM_foreign_submit)->Iterations(1)->UseRealTime();

// ---- suspended_memory: N tasks all suspended on one Future; resident bytes per task.
void BM_suspended_memory(benchmark::State& state) {
  constexpr int n = 1'000'000;
  weft::Runtime runtime({.workers = 2});
  double bytes_per_task = 0;
  for (auto _ : state) {
    weft::Future<int> gate;  // made outside the runtime; completed from this thread
    std::atomic<int> suspended{0};
    malloc_trim(0);  // freed memory of earlier benchmarks must not hide new allocations
    const std::int64_t before = resident_bytes();
    auto spawner = weft::run_coroutine_threadsafe(weft::coro([&] {
                                                    std::vector<weft::Task<int>> tasks;
                                                    tasks.reserve(n);
                                                    for (int i = 0; i < n; ++i) {
                                                      tasks.push_back(weft::create_task([&] {
                                                        suspended.fetch_add(1);
                                                        return gate.await();
                                                      }));
                                                    }
                                                    std::int64_t finished = 0;
                                                    for (auto& t : tasks)
                                                      finished += weft::await(t);
                                                    return finished;
                                                  }),
                                                  runtime);
    while (suspended.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    // The last task has counted itself and is switching away; let it.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const std::int64_t after = resident_bytes();
    bytes_per_task = static_cast<double>(after - before) / n;
    gate.set_result(1);
    std::int64_t finished = spawner.result();
    if (finished != n) {
      state.SkipWithError(
          ("suspended_memory: only " + std::to_string(finished) + " finished").c_str());
      return;
    }
  }
  state.counters["rss_bytes_per_task"] = bytes_per_task;
}
BENCHMARK(BM_suspended_memory)->Iterations(1)->UseRealTime();

// ---- sleep_timers: N tasks each sleep 10 ms (real time); how long until all are done.
void BM_sleep_timers(benchmark::State& state) {
  constexpr int n = 100'000;
  weft::Runtime runtime({.workers = 2});
  double elapsed = 0;
  for (auto _ : state) {
    auto [seconds, woke] = run_on(runtime, [] {
      std::vector<weft::Task<int>> tasks;
      tasks.reserve(n);
      auto start = Clock::now();
      for (int i = 0; i < n; ++i) {
        tasks.push_back(
            weft::create_task([] { return weft::sleep(std::chrono::milliseconds(10), 1); }));
      }
      int total = 0;
      for (auto& t : tasks) total += weft::await(t);
      return std::pair{seconds_since(start), total};
    });
    elapsed += seconds;
    if (woke != n) {
      state.SkipWithError("sleep_timers: not every sleeper woke");
      return;
    }
  }
  state.counters["total_ms"] = elapsed * 1e3 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_sleep_timers)->Iterations(1)->UseRealTime();

// ---- idle_cpu: CPU time a started runtime with nothing to do burns in 1 s of wall time.
void BM_idle_cpu(benchmark::State& state) {
  double cpu = 0;
  for (auto _ : state) {
    weft::Runtime runtime({.workers = 2});
    // Let the workers start and settle into their idle state first.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const double before = cpu_seconds();
    std::this_thread::sleep_for(std::chrono::seconds(1));
    cpu += cpu_seconds() - before;
  }
  state.counters["cpu_seconds"] = cpu / static_cast<double>(state.iterations());
}
BENCHMARK(BM_idle_cpu)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
