// A worker's timers, fired by (deadline, sequence): timers with equal deadlines fire in the order
// they were set, as asyncio's call_at does. Set and fired by one worker; while that worker is
// blocked inside one step, the others take over its due timers (take_over_due), as Go's sysmon
// retakes the processor of a thread stuck in a system call. A lock keeps the two sides apart: it
// guards the containers only, and no timer fires while it is held, so a timer's callback may set
// timers anywhere and no two workers ever wait for each other's lock. The next deadline is
// published for the parking logic, for virtual time and for the blocked-worker monitor.
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
#include <mutex>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/block_pool.hpp"
#include "weft/detail/runnable.hpp"
#include "weft/detail/spin_lock.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/detail/timer_callback.hpp"

namespace weft::detail {

// A call_at / call_later callback threw: reported to the runtime's exception handler (this
// thread's worker's runtime); the timers go on. Never throws.
void report_timer_exception(const TimerCallback& timer, std::exception_ptr error) noexcept;

class TimerQueue {
 public:
  static constexpr std::int64_t none = std::numeric_limits<std::int64_t>::max();

  // A task's sleep: wakes it with `token` (never 0: tokens count up from 1). The entry keeps the
  // task alive. A raw pointer would not do: a sleep ended by Task.cancel() leaves its timer
  // here, and the task may finish and be freed (on any worker) long before the deadline.
  void add(std::int64_t deadline_ns, Ref<TaskCore> task, std::uint64_t token) {
    std::lock_guard hold(lock_);
    add(Entry{deadline_ns, next_sequence_++, token, std::move(task), nullptr});
  }
  // A callback (call_at).
  void add(std::shared_ptr<TimerCallback> callback) {
    std::int64_t when = callback->when_ns;
    std::lock_guard hold(lock_);
    add(Entry{when, next_sequence_++, 0, nullptr, std::move(callback)});
  }

  // The owner: fires every timer due at `now_ns`, in order, each outside the lock. Returns how
  // many fired. Drops the stale timers it meets at the front. Given `queue_behind`, each due
  // timer is instead handed to it as a Runnable that fires the timer when run: asyncio appends
  // the timers that fell due behind what is already ready (Worker::fire_due_timers decides).
  std::size_t fire_due(std::int64_t now_ns) {
    return fire_due_impl<std::nullptr_t>(now_ns, false, nullptr);
  }
  template <class QueueBehind>
  std::size_t fire_due(std::int64_t now_ns, QueueBehind queue_behind) {
    return fire_due_impl(now_ns, false, &queue_behind);
  }
  // Another worker, while the owner is blocked: the same, on the caller's thread (a woken task
  // goes to the caller's queue). Gives up at once if the owner holds the lock: it is not blocked.
  std::size_t take_over_due(std::int64_t now_ns) {
    return fire_due_impl<std::nullptr_t>(now_ns, true, nullptr);
  }
  template <class QueueBehind>
  std::size_t take_over_due(std::int64_t now_ns, QueueBehind queue_behind) {
    return fire_due_impl(now_ns, true, &queue_behind);
  }

  std::int64_t next_deadline() const {
    std::lock_guard hold(lock_);
    return front_deadline();
  }
  // Readable by any thread without the lock. Relaxed: a hint (whoever acts on it takes the
  // lock and looks again).
  std::int64_t published_next_deadline() const noexcept {
    return published_.load(std::memory_order_relaxed);
  }
  // The owner's quick test before it takes the lock (a timer is only ever added by the owner).
  bool empty() const noexcept { return published_next_deadline() == none; }
  void clear() {
    std::vector<Entry> heap, ring;  // destroyed after the lock is let go: they may free tasks
    std::lock_guard hold(lock_);
    heap.swap(heap_);
    ring.swap(ring_);
    ring_head_ = ring_size_ = 0;
    publish();
  }

 private:
  struct Entry {
    std::int64_t deadline_ns = 0;
    std::uint64_t sequence = 0;
    std::uint64_t token = 0;  // a sleep's wake-up token; 0 for a callback
    // One of the two: the sleeping task, or the callback.
    Ref<TaskCore> sleeper;
    std::shared_ptr<TimerCallback> timer;
    TaskCore* task() const noexcept { return sleeper.get(); }
    TimerCallback* callback() const noexcept { return timer.get(); }
    bool stale() const noexcept {
      return token ? !task()->awaits_token(token)
                   : callback()->cancelled.load(std::memory_order_relaxed);
    }
    void fire() {
      if (TaskCore* sleeper = task()) {
        sleeper->fire(token);  // ignored if the task was woken some other way
      } else if (!callback()->cancelled.load(std::memory_order_relaxed)) {
        try {
          callback()->callback();
        } catch (...) {
          report_timer_exception(*callback(), std::current_exception());
        }
      }
    }
    bool before(const Entry& other) const noexcept {
      return deadline_ns != other.deadline_ns ? deadline_ns < other.deadline_ns
                                              : sequence < other.sequence;
    }
  };
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const noexcept { return b.before(a); }
  };

  // A due timer waiting its turn in a run queue; fires (or finds itself stale) when run.
  struct DueTimer final : Runnable, PooledObject {
    explicit DueTimer(Entry due) : entry(std::move(due)) {}
    void run() override {
      std::unique_ptr<DueTimer> self(this);
      entry.fire();
    }
    std::string describe() const override {
      return entry.task() ? entry.task()->describe() : "<TimerHandle>";
    }
    Entry entry;
  };

  template <class QueueBehind>
  std::size_t fire_due_impl(std::int64_t now_ns, bool taking_over, QueueBehind* queue_behind) {
    std::size_t fired = 0;
    for (;;) {
      Entry entry;
      {
        std::unique_lock hold(lock_, std::defer_lock);
        if (taking_over) {
          if (!hold.try_lock()) break;
        } else {
          hold.lock();
        }
        Front f = front();
        // Drop what can no longer do anything (a cancelled callback, a sleep whose task was
        // already woken), so parking and virtual time see the real next deadline.
        while (f != Front::none && at(f).stale()) {
          Entry dropped = take(f);
          publish();
          hold.unlock();  // a dropped entry may hold the last reference to a task
          dropped = Entry{};
          hold.lock();
          f = front();
        }
        if (f == Front::none || at(f).deadline_ns > now_ns) break;
        entry = take(f);
        publish();
      }
      ++fired;
      if constexpr (!std::is_null_pointer_v<QueueBehind>) {
        if (queue_behind) {
          DueTimer* due = nullptr;
          try {
            due = new DueTimer(std::move(entry));
          } catch (const std::bad_alloc&) {
            // No memory to queue it: fire it now (early beats lost). `entry` is intact: the
            // allocation failed before the move.
          }
          if (due) {
            (*queue_behind)(static_cast<Runnable*>(due));
            continue;
          }
        }
      }
      entry.fire();
    }
    return fired;
  }

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

  std::int64_t front_deadline() const noexcept {
    Front f = front();
    return f == Front::none ? none : at(f).deadline_ns;
  }
  void publish() noexcept { published_.store(front_deadline(), std::memory_order_relaxed); }

  // Under lock_.
  std::vector<Entry> heap_;  // a binary min-heap by (deadline, sequence)
  std::vector<Entry> ring_;  // sorted by (deadline, sequence) from ring_head_, ring_size_ long
  std::size_t ring_head_ = 0;
  std::size_t ring_size_ = 0;
  std::uint64_t next_sequence_ = 0;
  std::atomic<std::int64_t> published_{none};
  mutable SpinLock lock_;  // guards the containers and next_sequence_; see the top
};

}  // namespace weft::detail
