// Internal: how often the block pool (block_pool.hpp) and the stack pool (stack_pool.hpp) served
// a thread from memory they kept, and how often they had to ask malloc or the kernel. Counted
// per thread, into counters someone else owns: the runtime points each worker thread at its
// worker's own (weft::RuntimeMetrics reads them there), and other threads count nowhere.
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::detail {

struct PoolCounters {
  std::atomic<std::uint64_t> block_hits{0};    // a recycled block: the thread's list or a batch
  std::atomic<std::uint64_t> block_misses{0};  // operator new (or a block over 1 KiB)
  std::atomic<std::uint64_t> stack_hits{0};    // a warm stack: the thread's cache or the pool's
  std::atomic<std::uint64_t> stack_misses{0};  // a fresh stack, its pages not touched yet
  std::atomic<std::uint64_t> stacks_released{0};
};

// Adds one to a counter only the calling thread writes. A relaxed load and a relaxed store,
// not a fetch_add: no other writer can come between them, so the locked read-modify-write
// would buy nothing; readers on other threads want a recent value and order nothing by it.
inline void count_one(std::atomic<std::uint64_t>& counter) noexcept {
  counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

// From now on this thread's pool allocations are counted in `counters` (null: not counted).
// `counters` must outlive the setting: a worker sets it when it starts and clears it on exit.
void count_pool_use_in(PoolCounters* counters) noexcept;

}  // namespace weft::detail
