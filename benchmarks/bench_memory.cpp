// The memory of suspended tasks, side by side: weft and Boost.Fiber (work_stealing). oneTBB
// cannot suspend a task, so it sits this out.
//
//   suspended_memory  1M tasks all suspended at once on one event (weft::Event; a
//                     boost::fibers::condition_variable): resident memory (RSS) grown per task
//                     while they wait. Then the event is set, every task must wake exactly once,
//                     and the memory must be given back: within 2 s, RSS minus RSS before must
//                     fall under half of the growth (reported as retained_bytes_per_task).
// Go's version is in benchmarks/go.
#include <atomic>
#include <thread>

#include "common/workload.hpp"

namespace {

using cmp::failed;
using cmp::measured;
using cmp::Outcome;

constexpr std::int64_t kSuspended = 1'000'000;

void settle() {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// RSS once every task has ended: polled for up to 2 s (a runtime may give memory back lazily,
// from an idle worker), after malloc_trim, until under half of the growth.
std::int64_t resident_after(std::int64_t before, std::int64_t during) {
  std::int64_t after = 0;
  for (int i = 0; i < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cmp::trim_heap();
    after = cmp::resident_bytes();
    if ((after - before) * 2 <= during - before) break;
  }
  return after;
}

// The figures and checks shared by every runtime. RSS values in bytes.
Outcome memory_result(std::int64_t before, std::int64_t during, std::int64_t after,
                      std::int64_t woke) {
  if (woke != kSuspended) {
    return failed(std::to_string(woke) + " of " + std::to_string(kSuspended) + " tasks woke");
  }
  const double per_task = static_cast<double>(during - before) / kSuspended;
  const double retained = static_cast<double>(after - before) / kSuspended;
  if (retained > per_task / 2) {
    return failed("RSS not given back: " + std::to_string(retained) +
                  " bytes per task still resident after all ended (" + std::to_string(per_task) +
                  " while suspended)");
  }
  Outcome outcome = measured(per_task);
  outcome.extra.emplace_back("retained_bytes_per_task", retained);
  return outcome;
}

Outcome suspended_memory_weft(int threads) {
  // About 5 KiB a task; refuse rather than push the machine into swap or the OOM killer.
  if (auto e = cmp::check_available_memory(kSuspended * 8 * 1024); !e.empty()) return failed(e);
  weft::Runtime runtime({.workers = static_cast<unsigned>(threads)});
  weft::Event gate;
  std::atomic<std::int64_t> suspended{0}, woke{0};
  cmp::trim_heap();
  const std::int64_t before = cmp::resident_bytes();
  auto spawner = weft::run_coroutine_threadsafe(weft::coro([&] {
                                                  std::vector<weft::Task<void>> tasks;
                                                  tasks.reserve(kSuspended);
                                                  for (std::int64_t i = 0; i < kSuspended; ++i) {
                                                    tasks.push_back(weft::create_task([&] {
                                                      suspended.fetch_add(1);
                                                      gate.wait();
                                                      woke.fetch_add(1);
                                                    }));
                                                  }
                                                  for (auto& t : tasks) weft::await(t);
                                                }),
                                                runtime);
  while (suspended.load() < kSuspended) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  settle();  // the last task has counted itself and is switching away: let it
  const std::int64_t during = cmp::resident_bytes();
  gate.set();
  spawner.result();
  return cmp::with_weft_profile(
      memory_result(before, during, resident_after(before, during), woke.load()), runtime,
      kSuspended);
}

Outcome suspended_memory_fiber(int threads) {
  // About 9.5 KiB a fiber: the touched pages of its 16 KiB stack (malloc'd: the chunk header
  // touches the page below it too).
  if (auto e = cmp::check_available_memory(kSuspended * 14 * 1024); !e.empty()) return failed(e);
  cmp::fiber::start(threads, false, cmp::fiber::Caller::joins);
  cmp::trim_heap();
  const std::int64_t before = cmp::resident_bytes();
  std::atomic<std::int64_t> suspended{0}, woke{0};
  const std::int64_t during = cmp::fiber_run([&] {
    boost::fibers::mutex mutex;
    boost::fibers::condition_variable gate;
    bool open = false;
    for (std::int64_t i = 0; i < kSuspended; ++i) {
      cmp::fiber::launch([&] {
        suspended.fetch_add(1);
        std::unique_lock<boost::fibers::mutex> lock(mutex);
        gate.wait(lock, [&] { return open; });
        woke.fetch_add(1);
      }).detach();
    }
    while (suspended.load() < kSuspended)
      boost::this_fiber::sleep_for(std::chrono::milliseconds(1));
    boost::this_fiber::sleep_for(std::chrono::milliseconds(50));
    const std::int64_t during = cmp::resident_bytes();
    {
      std::unique_lock<boost::fibers::mutex> lock(mutex);
      open = true;
    }
    gate.notify_all();
    while (woke.load() < kSuspended) boost::this_fiber::sleep_for(std::chrono::milliseconds(1));
    // The last fibers are ending: let their stacks go back before the gate goes away.
    boost::this_fiber::sleep_for(std::chrono::milliseconds(50));
    return during;
  });
  return memory_result(before, during, resident_after(before, during), woke.load());
}

void register_all() {
  // Two workers only: the memory a suspended task holds does not depend on the worker count
  // (the same to the byte at 1 and 2 in trial runs), and each run takes seconds.
  cmp::add("suspended_memory", "weft", 2, "bytes/task", [] { return suspended_memory_weft(2); });
  // Memory does not depend on how idle workers wait: one Boost.Fiber variant.
  cmp::add("suspended_memory", "boost.fiber", 2, "bytes/task",
           [] { return suspended_memory_fiber(2); });
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  return cmp::run_main(argc, argv);
}
