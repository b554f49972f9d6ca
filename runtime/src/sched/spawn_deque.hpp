// A worker's deque of freshly spawned tasks (multi-worker runtimes only): the owner pushes and
// pops at the bottom, newest first; thieves take from the top, oldest first -- the work-first
// order of Cilk and oneTBB (Chase and Lev's deque, bounded).
//
// Why not the FIFO run queue: a fan-out such as skynet spawns ten children and awaits them. Run
// oldest first, the whole tree unfolds breadth first -- tens of thousands of tasks suspended at
// once, each holding a stack and its children's states, paid for in page faults and cache misses.
// Run newest first, the worker goes depth first and keeps a few dozen tasks alive, while a thief
// takes the oldest spawn, which is the biggest untouched subtree. Wake-ups and yields stay in the
// FIFO queue, so sleep(0) still lets every other ready task run first.
//
// The indices are signed and only grow; a pop briefly moves `bottom_` below `top_` when the deque
// is empty. Ordering: the owner's pop and a thief's steal race for the last item, decided by the
// CAS on `top_`; both sides read the other's index after writing their own with seq_cst
// operations (a store-load pair that weaker orders would let the CPU reorder).
//
// A template over the item type, the atomic type and the capacity only so that tests/model/ can
// explore these very functions over an instrumented atomic; the runtime's SpawnDeque is the
// std::atomic instance, with the code and orders as written here.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/runnable.hpp"

namespace weft::detail {

template <class Node, template <class> class Atomic = std::atomic, std::int64_t Capacity = 256>
class BasicSpawnDeque {
 public:
  static constexpr std::int64_t capacity = Capacity;

  // Owner only. False when full (the caller puts the item elsewhere).
  bool push(Node* item) noexcept {
    std::int64_t bottom = bottom_.load(std::memory_order_relaxed);  // only the owner writes it
    // Acquire pairs with the thieves' CAS on top_: a slot they took is read before we reuse it.
    std::int64_t top = top_.load(std::memory_order_acquire);
    if (bottom - top >= capacity) return false;
    slots_[bottom % capacity].store(item, std::memory_order_relaxed);
    // Release: a thief that reads the new bottom sees the slot and the task it points to.
    bottom_.store(bottom + 1, std::memory_order_release);
    return true;
  }

  // Owner only: the newest item, or null.
  Node* pop() noexcept {
    // The cheap check first: top_ only grows, so once it has reached bottom_ the deque is empty
    // for sure, and the store-load pair below (a full barrier on x86) is not needed. Relaxed:
    // a stale top_ only sends us down the careful path.
    if (top_.load(std::memory_order_relaxed) >= bottom_.load(std::memory_order_relaxed)) {
      return nullptr;
    }
    std::int64_t bottom = bottom_.load(std::memory_order_relaxed) - 1;
    // seq_cst store, then seq_cst load of top_: a thief either sees the lowered bottom or we see
    // its raised top -- never neither, which would hand the last item to both of us.
    bottom_.store(bottom, std::memory_order_seq_cst);
    std::int64_t top = top_.load(std::memory_order_seq_cst);
    if (top > bottom) {  // empty
      // Release, like every store of bottom_: a thief that reads any value of it has seen the
      // pushes before (free on x86, and it keeps each value a thief can read a release).
      bottom_.store(bottom + 1, std::memory_order_release);
      return nullptr;
    }
    Node* item = slots_[bottom % capacity].load(std::memory_order_relaxed);
    if (top == bottom) {
      // The last item: a thief may be taking it too. The CAS decides (seq_cst: it is ordered
      // with the thieves' loads as above); whoever loses sees the deque empty.
      if (!top_.compare_exchange_strong(top, top + 1, std::memory_order_seq_cst,
                                        std::memory_order_relaxed)) {
        item = nullptr;
      }
      bottom_.store(bottom + 1, std::memory_order_release);  // release: as above
    }
    return item;
  }

  // Any thread: the oldest item, or null if the deque is empty or another thread won it.
  Node* steal() noexcept {
    // seq_cst loads: the pair against pop()'s store of bottom_ and load of top_ (see there).
    std::int64_t top = top_.load(std::memory_order_seq_cst);
    std::int64_t bottom = bottom_.load(std::memory_order_seq_cst);
    if (top >= bottom) return nullptr;
    // The slot may be overwritten once top_ moves on, but then the CAS below fails: the value
    // read is used only if it succeeds.
    Node* item = slots_[top % capacity].load(std::memory_order_relaxed);
    // seq_cst: one winner per index, ordered with the owner's pop as above.
    if (!top_.compare_exchange_strong(top, top + 1, std::memory_order_seq_cst,
                                      std::memory_order_relaxed)) {
      return nullptr;
    }
    return item;
  }

  // Approximate: for the parking re-check and heuristics only.
  bool empty() const noexcept {
    return bottom_.load(std::memory_order_acquire) <= top_.load(std::memory_order_acquire);
  }
  // Approximate, for metrics (any thread). Relaxed: a count, nothing is read through it.
  std::uint64_t size() const noexcept {
    std::int64_t n = bottom_.load(std::memory_order_relaxed) - top_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<std::uint64_t>(n) : 0;
  }

 private:
  alignas(64) Atomic<std::int64_t> top_{0};
  alignas(64) Atomic<std::int64_t> bottom_{0};
  alignas(64) Atomic<Node*> slots_[capacity] = {};
};

using SpawnDeque = BasicSpawnDeque<Runnable>;

}  // namespace weft::detail
