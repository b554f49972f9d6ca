// The global injection queue: where foreign threads submit, and where a full worker queue
// spills half its tasks. Producers never lock: a push is one exchange on the tail (Vyukov's
// intrusive MPSC queue). Consumers are workers; they take turns through a try-lock, so a busy
// consumer side never blocks anyone -- a worker that cannot get it looks elsewhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>

#include "weft/detail/task_core.hpp"

namespace weft::detail {

class InjectionQueue {
 public:
  InjectionQueue() {
    head_ = &stub_;
    tail_.store(&stub_, std::memory_order_relaxed);
  }

  // Any thread. Appends the batch first..last (already linked through next_in_queue).
  void push_batch(Runnable* first, Runnable* last, std::uint32_t count) noexcept {
    last->next_in_queue.store(nullptr, std::memory_order_relaxed);
    // Relaxed: an estimate for heuristics; the link below publishes the items.
    size_.fetch_add(count, std::memory_order_relaxed);
    // acq_rel: we take over the previous tail (acquire) and hand our batch to the next
    // producer (release).
    Runnable* previous = tail_.exchange(last, std::memory_order_acq_rel);
    // Release: the consumer that follows this link sees the batch's contents.
    previous->next_in_queue.store(first, std::memory_order_release);
  }
  void push(Runnable* item) noexcept { push_batch(item, item, 1); }

  // Consumers: null if empty, busy (another consumer holds it), or a producer is mid-push.
  Runnable* try_pop() noexcept {
    if (empty()) return nullptr;
    std::unique_lock lock(consumer_mutex_, std::try_to_lock);
    if (!lock) return nullptr;
    return pop_locked();
  }

  // Approximate emptiness (exact once producers are quiet).
  bool empty() const noexcept {
    // Acquire pairs with push's exchange: a non-stub tail means something was pushed.
    return size_.load(std::memory_order_acquire) == 0;
  }

 private:
  Runnable* pop_locked() noexcept {
    for (int attempt = 0; attempt < 2; ++attempt) {
      Runnable* head = head_;
      // Acquire pairs with the producer's release store of the link.
      Runnable* next = head->next_in_queue.load(std::memory_order_acquire);
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

  struct Stub final : Runnable {
    void run() override {}
  };

  alignas(64) std::atomic<Runnable*> tail_;
  alignas(64) Runnable* head_;  // guarded by consumer_mutex_
  std::mutex consumer_mutex_;
  std::atomic<std::int64_t> size_{0};
  Stub stub_;
};

}  // namespace weft::detail
