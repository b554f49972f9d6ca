// weft::RuntimeMetrics: what a runtime's workers have done so far, and what waits right now.
// asyncio has nothing like it; it mirrors Tokio's RuntimeMetrics, with asyncio's words where the
// two differ (a "step" is Tokio's poll).
//
//   weft::run([] {
//     weft::RuntimeMetrics m = weft::get_running_loop().metrics();   // or rt.metrics()
//     std::printf("%u workers, %llu tasks alive, %llu asleep\n", m.num_workers,
//                 (unsigned long long)m.num_alive_tasks, (unsigned long long)m.timer_waiters);
//     for (const weft::WorkerMetrics& w : m.workers)
//       std::printf("  %llu steps, %llu stolen\n", (unsigned long long)w.step_count,
//                   (unsigned long long)w.steal_count);
//   });
//
// Always on, from any thread, at any time (also after shutdown()). Each figure is read on its
// own: while the runtime runs, a snapshot is not one instant (two counters may be a few events
// apart). Counters only grow; depths and waiters are the present. docs/architecture.md §17
// says who counts what and what it costs.
#pragma once

#include <cstdint>
#include <vector>

namespace weft {

struct WorkerMetrics {
  std::uint64_t step_count = 0;           // runnables run: task steps, callbacks, due timers
  std::uint64_t steal_count = 0;          // tasks this worker took from the others
  std::uint64_t steal_operations = 0;     // successful steals (one may take half a queue)
  std::uint64_t park_count = 0;           // times it went to sleep for want of work
  std::uint64_t unpark_count = 0;         // times another thread woke it (not its own deadline)
  std::uint64_t lifo_slot_hits = 0;       // tasks it woke and ran next from its LIFO slot
  std::uint64_t hand_offs = 0;            // continuation stealing: children run from create_task
  std::uint64_t local_queue_depth = 0;    // now: its FIFO queue and spawn deque (not the slot)
  std::uint64_t busy_ns = 0;              // time not parked: running steps and looking for work
  std::uint64_t spawned_tasks_count = 0;  // tasks created on this worker
  std::uint64_t overflow_count = 0;     // full local queue: half of it moved to the injection queue
  std::uint64_t block_pool_hits = 0;    // task memory recycled (weft/detail/block_pool.hpp)
  std::uint64_t block_pool_misses = 0;  // ... or asked of malloc
  std::uint64_t stack_pool_hits = 0;    // fiber stacks taken warm
  std::uint64_t stack_pool_misses = 0;  // ... or fresh (first touch faults their pages in)
  std::uint64_t stacks_released = 0;    // fiber stacks given back here
};

struct RuntimeMetrics {
  unsigned num_workers = 0;
  std::uint64_t num_alive_tasks = 0;             // created and not done (asyncio.all_tasks())
  std::uint64_t injection_queue_depth = 0;       // submitted from outside, not picked up yet
  std::uint64_t timer_waiters = 0;               // tasks suspended in a sleep
  std::uint64_t io_waiters = 0;                  // tasks suspended on a socket (or another fd)
  std::uint64_t remote_spawned_tasks_count = 0;  // tasks created off the workers
  // Fiber stacks taken on the workers and not given back: one per task started and not done
  // (a coroutine driven by hand off the workers is not counted).
  std::uint64_t stacks_in_use = 0;
  std::vector<WorkerMetrics> workers;  // by worker index

  // A counter summed over the workers: m.total(&weft::WorkerMetrics::step_count).
  std::uint64_t total(std::uint64_t WorkerMetrics::*counter) const noexcept {
    std::uint64_t sum = 0;
    for (const WorkerMetrics& w : workers) sum += w.*counter;
    return sum;
  }
};

}  // namespace weft
