// Semaphore / BoundedSemaphore: asyncio's -- a counter of permits. acquire() takes one,
// suspending the task while there are none; release() gives one back. Waiters are served in
// FIFO order, and a task that arrives while others wait queues behind them even if a permit is
// free at that instant; the woken waiter then hands the permits left to those behind it, in
// order (CPython 3.13).
//
//   weft::Semaphore slots(3);               // at most 3 tasks inside at once
//   { weft::LockGuard guard(slots); ... }   // `async with slots:`
//
// BoundedSemaphore raises ValueError when released more often than acquired.
// acquire() only inside a task; the rest from anywhere. Not copyable or movable.
#pragma once

#include <cstddef>
#include <mutex>
#include <string>

#include "weft/detail/sync_waiters.hpp"

namespace weft {

class Semaphore {
 public:
  // ValueError("Semaphore initial value must be >= 0") if value < 0.
  explicit Semaphore(std::ptrdiff_t value = 1);
  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  // Takes a permit, suspending until one is free. Returns true. Cancellation raises
  // CancelledError and takes nothing (a permit already handed to this task passes on).
  bool acquire();
  // Gives a permit back, waking the first waiter.
  void release();
  // True if acquire() would have to wait.
  bool locked() const;
  // The number of free permits.
  std::ptrdiff_t value() const;

  // Lockable names for the std:: helpers.
  void lock() { acquire(); }
  void unlock() { release(); }

  // "<weft::Semaphore at 0x... [unlocked, value:2]>"
  std::string repr() const;

 protected:
  Semaphore(std::ptrdiff_t value, std::ptrdiff_t bound, const char* kind);

 private:
  bool locked_locked() const;
  bool wake_up_next_locked();
  void wake_up_spare_locked();

  mutable detail::FutexLock mutex_;  // guards everything below
  std::ptrdiff_t value_;
  const std::ptrdiff_t bound_;  // BoundedSemaphore's limit on value_; -1: none
  const char* kind_;
  detail::WaiterFifo waiters_;
};

class BoundedSemaphore : public Semaphore {
 public:
  // release() raises ValueError("BoundedSemaphore released too many times") when the value
  // would exceed `value`.
  explicit BoundedSemaphore(std::ptrdiff_t value = 1);
};

}  // namespace weft
