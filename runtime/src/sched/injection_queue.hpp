// The global injection queue: where foreign threads submit, and where a full worker queue
// spills half its tasks. Producers never lock: a push is one exchange on the tail (Vyukov's
// intrusive MPSC queue). Consumers are workers; they take turns through a try-lock, so a busy
// consumer side never blocks anyone -- a worker that cannot get it looks elsewhere.
//
// A template over the item type (anything with a `next_in_queue` link of the same atomic type
// and a virtual run(), for the stub) and the atomic type only so that tests/model/ can explore
// these very functions over an instrumented atomic; the runtime's InjectionQueue is the
// std::atomic instance, with the code and orders as written here.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/runnable.hpp"

namespace weft::detail {

template <class Node, template <class> class Atomic = std::atomic>
class BasicInjectionQueue {
 public:
  BasicInjectionQueue() {
    head_ = &stub_;
    tail_.store(&stub_, std::memory_order_relaxed);
  }

  // Any thread. Appends the batch first..last (already linked through next_in_queue).
  void push_batch(Node* first, Node* last, std::uint32_t count) noexcept {
    last->next_in_queue.store(nullptr, std::memory_order_relaxed);
    // Relaxed: an estimate for heuristics; the link below publishes the items.
    size_.fetch_add(count, std::memory_order_relaxed);
    // acq_rel: we take over the previous tail (acquire) and hand our batch to the next
    // producer (release).
    Node* previous = tail_.exchange(last, std::memory_order_acq_rel);
    // Release: the consumer that follows this link sees the batch's contents.
    previous->next_in_queue.store(first, std::memory_order_release);
  }
  void push(Node* item) noexcept { push_batch(item, item, 1); }

  // Consumers: null if empty, busy (another consumer holds it), or a producer is mid-push.
  Node* try_pop() noexcept {
    if (empty()) return nullptr;
    // A try-lock (never waited on, so a flag does what a mutex's try_lock did). Acquire: the
    // previous consumer's head_ and stub updates, released below, happened before ours.
    if (consumer_busy_.exchange(true, std::memory_order_acquire)) return nullptr;
    Node* item = pop_locked();
    // Release: hands head_ to the next consumer.
    consumer_busy_.store(false, std::memory_order_release);
    return item;
  }

  // Approximate emptiness (exact once producers are quiet).
  bool empty() const noexcept {
    // Acquire pairs with push's exchange: a non-stub tail means something was pushed.
    return size_.load(std::memory_order_acquire) == 0;
  }
  // Approximate, for metrics (any thread). Relaxed: a count, nothing is read through it; a
  // producer counts its push before linking it, so it may be counted a moment early.
  std::uint64_t size() const noexcept {
    std::int64_t n = size_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<std::uint64_t>(n) : 0;
  }

 private:
  Node* pop_locked() noexcept {
    for (int attempt = 0; attempt < 2; ++attempt) {
      Node* head = head_;
      // Acquire pairs with the producer's release store of the link.
      Node* next = head->next_in_queue.load(std::memory_order_acquire);
      if (head == &stub_) {
        if (!next) return nullptr;  // empty, or a producer has not linked yet
        head_ = next;
        head = next;
        next = next->next_in_queue.load(std::memory_order_acquire);
      }
      if (next) {
        head_ = next;
        size_.fetch_sub(1, std::memory_order_relaxed);
        return head;
      }
      // `head` is the last linked item: it can go only if it is also the tail; otherwise a
      // producer is between its exchange and its link -- come back later.
      if (tail_.load(std::memory_order_acquire) != head) return nullptr;
      push(&stub_);  // re-insert the stub behind head so head can be detached
      size_.fetch_sub(1, std::memory_order_relaxed);  // the stub does not count
      next = head->next_in_queue.load(std::memory_order_acquire);
      if (next) {
        head_ = next;
        size_.fetch_sub(1, std::memory_order_relaxed);
        return head;
      }
    }
    return nullptr;
  }

  struct Stub final : Node {
    void run() override {}
  };

  alignas(64) Atomic<Node*> tail_;
  alignas(64) Node* head_;  // guarded by consumer_busy_
  Atomic<bool> consumer_busy_{false};
  Atomic<std::int64_t> size_{0};
  Stub stub_;
};

using InjectionQueue = BasicInjectionQueue<Runnable>;

}  // namespace weft::detail
