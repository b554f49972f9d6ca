// A worker's timers, fired by (deadline, sequence): timers with equal deadlines fire in the order
// they were set, as asyncio's call_at does. Owned by one worker; the next deadline is published
// for the parking logic and for virtual time.
//
// Two containers hold them. Timers set in deadline order -- the common case: many sleeps of one
// duration, each deadline the clock plus the same delay -- queue up in a ring, sorted by
// construction, and cost O(1) to add and to fire. A timer due before the newest one in the ring
// goes to a binary min-heap instead. Firing takes the earlier of the two fronts.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "weft/detail/task_core.hpp"

namespace weft::detail {

// A call_at / call_later callback threw: reported to the runtime's exception handler (this
// thread's worker's runtime); the timers go on. Never throws.
void report_timer_exception(const TimerCallback& timer, std::exception_ptr error) noexcept;

class TimerHeap {
 public:
  static constexpr std::int64_t none = std::numeric_limits<std::int64_t>::max();

  // A task's sleep: wakes it with `token` (never 0: tokens count up from 1). The entry keeps the
  // task alive. A raw pointer would not do: a sleep ended by Task.cancel() leaves its timer
  // here, and the task may finish and be freed (on any worker) long before the deadline.
  void add(std::int64_t deadline_ns, std::shared_ptr<TaskCore> task, std::uint64_t token) {
    add(Entry{deadline_ns, next_sequence_++, token, std::move(task)});
  }
  // A callback (call_at).
  void add(std::shared_ptr<TimerCallback> callback) {
    std::int64_t when = callback->when_ns;
    add(Entry{when, next_sequence_++, 0, std::move(callback)});
  }

  // Fires every timer due at `now_ns`, in order. Returns how many fired.
  std::size_t fire_due(std::int64_t now_ns) {
    std::size_t fired = 0;
    for (Front f = front(); f != Front::none && at(f).deadline_ns <= now_ns; f = front()) {
      Entry entry = take(f);
      if (TaskCore* task = entry.task()) {
        task->fire(entry.token);  // ignored if the task was woken some other way
      } else if (!entry.callback()->cancelled.load(std::memory_order_relaxed)) {
        try {
          entry.callback()->callback();  // may set timers: nothing of ours is held across it
        } catch (...) {
          report_timer_exception(*entry.callback(), std::current_exception());
        }
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
    for (Front f = front(); f != Front::none && at(f).stale(); f = front()) {
      take(f);
      dropped = true;
    }
    if (dropped) publish();
  }

  std::int64_t next_deadline() const noexcept {
    Front f = front();
    return f == Front::none ? none : at(f).deadline_ns;
  }
  // Readable by other workers (virtual time). Relaxed: a hint; the owner acts on its own heap.
  std::int64_t published_next_deadline() const noexcept {
    return published_.load(std::memory_order_relaxed);
  }
  bool empty() const noexcept { return heap_.empty() && ring_size_ == 0; }
  void clear() {
    heap_.clear();
    ring_.clear();
    ring_head_ = ring_size_ = 0;
    publish();
  }

 private:
  struct Entry {
    std::int64_t deadline_ns = 0;
    std::uint64_t sequence = 0;
    std::uint64_t token = 0;       // a sleep's wake-up token; 0 for a callback
    std::shared_ptr<void> target;  // the sleeping TaskCore, or the TimerCallback
    TaskCore* task() const noexcept {
      return token ? static_cast<TaskCore*>(target.get()) : nullptr;
    }
    TimerCallback* callback() const noexcept { return static_cast<TimerCallback*>(target.get()); }
    bool stale() const noexcept {
      return token ? !task()->awaits_token(token)
                   : callback()->cancelled.load(std::memory_order_relaxed);
    }
    bool before(const Entry& other) const noexcept {
      return deadline_ns != other.deadline_ns ? deadline_ns < other.deadline_ns
                                              : sequence < other.sequence;
    }
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const noexcept { return b.before(a); }
  };

  void add(Entry entry) {
    // The newest sequence number: the ring stays sorted if the deadline is not earlier than
    // its back's.
    if (ring_size_ == 0 || entry.deadline_ns >= ring_at(ring_size_ - 1).deadline_ns) {
      ring_push(std::move(entry));
    } else {
      heap_.push_back(std::move(entry));
      std::push_heap(heap_.begin(), heap_.end(), Later{});
    }
    publish();
  }

  // Where the timer to fire next is.
  enum class Front { none, heap, ring };
  Front front() const noexcept {
    if (heap_.empty()) return ring_size_ ? Front::ring : Front::none;
    if (ring_size_ == 0 || heap_.front().before(ring_at(0))) return Front::heap;
    return Front::ring;
  }
  const Entry& at(Front f) const noexcept { return f == Front::heap ? heap_.front() : ring_at(0); }

  // Removes the timer at `f` (not none) and returns it.
  Entry take(Front f) {
    Entry entry;
    if (f == Front::heap) {
      std::pop_heap(heap_.begin(), heap_.end(), Later{});
      entry = std::move(heap_.back());
      heap_.pop_back();
    } else {
      entry = std::move(ring_at(0));
      ring_head_ = (ring_head_ + 1) & (ring_.size() - 1);
      if (--ring_size_ == 0) ring_head_ = 0;
    }
    return entry;
  }

  // The ring: a power-of-two circular buffer, doubled when full.
  Entry& ring_at(std::size_t i) noexcept { return ring_[(ring_head_ + i) & (ring_.size() - 1)]; }
  const Entry& ring_at(std::size_t i) const noexcept {
    return ring_[(ring_head_ + i) & (ring_.size() - 1)];
  }
  void ring_push(Entry entry) {
    if (ring_size_ == ring_.size()) {
      std::vector<Entry> bigger(std::max<std::size_t>(64, 2 * ring_.size()));
      for (std::size_t i = 0; i < ring_size_; ++i) bigger[i] = std::move(ring_at(i));
      ring_.swap(bigger);
      ring_head_ = 0;
    }
    ring_at(ring_size_++) = std::move(entry);
  }

  void publish() noexcept { published_.store(next_deadline(), std::memory_order_relaxed); }

  std::vector<Entry> heap_;  // a binary min-heap by (deadline, sequence)
  std::vector<Entry> ring_;  // sorted by (deadline, sequence) from ring_head_, ring_size_ long
  std::size_t ring_head_ = 0;
  std::size_t ring_size_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::atomic<std::int64_t> published_{none};
};

}  // namespace weft::detail
