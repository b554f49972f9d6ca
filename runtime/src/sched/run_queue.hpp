// A worker's own run queue: a bounded single-producer / multi-consumer ring of 256 slots (as Go's
// runq and Tokio's local queue). Only the owning worker pushes; the owner and thieves pop by
// CAS on head. Push is an acquire load and a release store: no read-modify-write.
//
// A template over the item type, the atomic type and the capacity only so that tests/model/ can
// explore these very functions over an instrumented atomic and a small ring; the runtime's
// RunQueue is the std::atomic instance, with the code and orders as written here.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/runnable.hpp"

namespace weft::detail {

template <class Node, template <class> class Atomic = std::atomic, std::uint32_t Capacity = 256>
class BasicRunQueue {
 public:
  static constexpr std::uint32_t capacity = Capacity;

  // Owner only. False when full (the caller spills half to the injection queue).
  bool push(Node* item) noexcept {
    // Acquire pairs with consumers' release CAS on head: their reads of the slots we are about
    // to overwrite have happened.
    std::uint32_t head = head_.load(std::memory_order_acquire);
    std::uint32_t tail = tail_.load(std::memory_order_relaxed);  // we are the only writer
    if (tail - head >= capacity) return false;
    slots_[tail % capacity].store(item, std::memory_order_relaxed);
    // Release: a consumer that reads the new tail sees the slot's contents.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Owner only, when push failed: takes half of the queue plus `extra` as a linked batch
  // (first..last through next_in_queue) for the injection queue. Returns the count, 0 if a
  // consumer raced us and the ring has room again.
  std::uint32_t take_half_for_spill(Node* extra, Node*& first, Node*& last) noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    std::uint32_t n = (tail - head) / 2;
    if (n != capacity / 2) return 0;  // not full any more
    Node* items[capacity / 2];
    for (std::uint32_t i = 0; i < n; ++i) {
      items[i] = slots_[(head + i) % capacity].load(std::memory_order_relaxed);
    }
    // Release: our slot reads happen before the slots can be reused by our own later pushes
    // (ordering for the owner is program order; release keeps thieves consistent too).
    if (!head_.compare_exchange_strong(head, head + n, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      return 0;
    }
    for (std::uint32_t i = 0; i + 1 < n; ++i) {
      items[i]->next_in_queue.store(items[i + 1], std::memory_order_relaxed);
    }
    items[n - 1]->next_in_queue.store(extra, std::memory_order_relaxed);
    extra->next_in_queue.store(nullptr, std::memory_order_relaxed);
    first = items[0];
    last = extra;
    return n + 1;
  }

  // Owner or thief: takes the oldest item.
  Node* pop() noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      // Acquire pairs with the owner's release store of tail: the slot is written.
      std::uint32_t tail = tail_.load(std::memory_order_acquire);
      if (head == tail) return nullptr;
      Node* item = slots_[head % capacity].load(std::memory_order_relaxed);
      // Release: our read of the slot happens before the owner (acquiring head) reuses it.
      if (head_.compare_exchange_weak(head, head + 1, std::memory_order_release,
                                      std::memory_order_acquire)) {
        return item;
      }
    }
  }

  // Thief: moves half of this queue into `into` (the thief's own, empty-ish queue) and returns
  // one of the stolen items to run now, or null if there was nothing to steal. `taken`, if
  // given, is set to how many items were stolen (the one returned included).
  Node* steal_half_into(BasicRunQueue& into, std::uint32_t* taken = nullptr) noexcept {
    std::uint32_t into_tail = into.tail_.load(std::memory_order_relaxed);  // thief owns `into`
    std::uint32_t into_head = into.head_.load(std::memory_order_acquire);
    std::uint32_t room = capacity - (into_tail - into_head);
    for (;;) {
      std::uint32_t head = head_.load(std::memory_order_acquire);
      std::uint32_t tail = tail_.load(std::memory_order_acquire);
      std::uint32_t n = tail - head;
      n -= n / 2;
      if (n == 0) return nullptr;
      if (n > capacity / 2) continue;  // head and tail read inconsistently; retry
      if (n > room) n = room;
      if (n == 0) return nullptr;
      for (std::uint32_t i = 0; i < n; ++i) {
        Node* item = slots_[(head + i) % capacity].load(std::memory_order_relaxed);
        into.slots_[(into_tail + i) % capacity].store(item, std::memory_order_relaxed);
      }
      // Release as in pop(): the copied slots were read before the victim may reuse them.
      if (head_.compare_exchange_weak(head, head + n, std::memory_order_release,
                                      std::memory_order_relaxed)) {
        if (taken) *taken = n;
        // Keep the last one to run now; publish the rest in our own queue.
        n -= 1;
        Node* run_now = into.slots_[(into_tail + n) % capacity].load(std::memory_order_relaxed);
        if (n > 0) into.tail_.store(into_tail + n, std::memory_order_release);
        return run_now;
      }
    }
  }

  // Approximate: for the parking re-check and heuristics only.
  bool empty() const noexcept {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  std::uint32_t size() const noexcept {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  alignas(64) Atomic<std::uint32_t> head_{0};
  alignas(64) Atomic<std::uint32_t> tail_{0};
  alignas(64) Atomic<Node*> slots_[capacity] = {};
};

using RunQueue = BasicRunQueue<Runnable>;

}  // namespace weft::detail
