// A worker's timers: a binary min-heap by (deadline, sequence), so timers with equal deadlines
// fire in the order they were set, as asyncio's call_at does. Owned by one worker; the next
// deadline is published for the parking logic and for virtual time.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "weft/detail/task_core.hpp"

namespace weft::detail {

class TimerHeap {
 public:
  static constexpr std::int64_t none = std::numeric_limits<std::int64_t>::max();

  // A task's sleep: wakes it with `token`.
  void add(std::int64_t deadline_ns, std::shared_ptr<TaskCore> task, std::uint64_t token) {
    entries_.push_back({deadline_ns, next_sequence_++, std::move(task), token, nullptr});
    std::push_heap(entries_.begin(), entries_.end(), Later{});
    publish();
  }
  // A callback (call_at).
  void add(std::shared_ptr<TimerCallback> callback) {
    std::int64_t when = callback->when_ns;
    entries_.push_back({when, next_sequence_++, nullptr, 0, std::move(callback)});
    std::push_heap(entries_.begin(), entries_.end(), Later{});
    publish();
  }

  // Fires every timer due at `now_ns`, in order. Returns how many fired.
  std::size_t fire_due(std::int64_t now_ns) {
    std::size_t fired = 0;
    while (!entries_.empty() && entries_.front().deadline_ns <= now_ns) {
      std::pop_heap(entries_.begin(), entries_.end(), Later{});
      Entry entry = std::move(entries_.back());
      entries_.pop_back();
      if (entry.task) {
        entry.task->fire(entry.token);  // ignored if the task was woken some other way
      } else if (!entry.callback->cancelled.load(std::memory_order_relaxed)) {
        entry.callback->callback();
      }
      ++fired;
    }
    if (fired) publish();
    return fired;
  }

  // Drops timers at the front that can no longer do anything (a cancelled callback, a sleep
  // whose task was already woken), so parking and virtual time see the real next deadline.
  void discard_stale_front() {
    bool dropped = false;
    while (!entries_.empty() && stale(entries_.front())) {
      std::pop_heap(entries_.begin(), entries_.end(), Later{});
      entries_.pop_back();
      dropped = true;
    }
    if (dropped) publish();
  }

  std::int64_t next_deadline() const noexcept {
    return entries_.empty() ? none : entries_.front().deadline_ns;
  }
  // Readable by other workers (virtual time). Relaxed: a hint; the owner acts on its own heap.
  std::int64_t published_next_deadline() const noexcept {
    return published_.load(std::memory_order_relaxed);
  }
  bool empty() const noexcept { return entries_.empty(); }
  void clear() {
    entries_.clear();
    publish();
  }

 private:
  struct Entry {
    std::int64_t deadline_ns;
    std::uint64_t sequence;
    std::shared_ptr<TaskCore> task;  // a sleep ...
    std::uint64_t token;
    std::shared_ptr<TimerCallback> callback;  // ... or a callback
  };
  static bool stale(const Entry& e) noexcept {
    return e.task ? !e.task->awaits_token(e.token)
                  : e.callback->cancelled.load(std::memory_order_relaxed);
  }
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const noexcept {
      return a.deadline_ns != b.deadline_ns ? a.deadline_ns > b.deadline_ns
                                            : a.sequence > b.sequence;
    }
  };
  void publish() noexcept { published_.store(next_deadline(), std::memory_order_relaxed); }

  std::vector<Entry> entries_;
  std::uint64_t next_sequence_ = 0;
  std::atomic<std::int64_t> published_{none};
};

}  // namespace weft::detail
