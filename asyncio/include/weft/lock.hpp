// Lock: asyncio.Lock -- mutual exclusion between tasks. Waiting suspends the task, never the
// worker thread; waiters get the lock in the order they asked for it (FIFO).
//
//   weft::Lock lock;
//   {
//     weft::LockGuard guard(lock);           // `async with lock:`
//     ...
//   }
//   std::unique_lock<weft::Lock> held(lock); // or any std:: lock helper: lock()/unlock() are
//                                            // acquire()/release()
//
// A Lock is not owned by a task: any task (or thread) may release it. acquire() only inside a
// task; release(), locked(), try_lock() and repr() from anywhere. Not copyable or movable.
#pragma once

#include <mutex>
#include <string>

#include "weft/detail/sync_waiters.hpp"

namespace weft {

class Lock {
 public:
  Lock() = default;
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  // Takes the lock, suspending until it is free. Returns true. If the task is cancelled while
  // it waits, CancelledError is raised and the lock is not taken (and a wake-up meant for this
  // task passes on to the next waiter).
  bool acquire();
  // Frees the lock and wakes the first waiter. RuntimeError("Lock is not acquired.") if unlocked.
  void release();
  bool locked() const;

  // C++'s Lockable names, so std::unique_lock / std::scoped_lock work inside a task.
  void lock() { acquire(); }
  void unlock() { release(); }
  // Takes the lock only if acquire() would not wait (not in asyncio; for std::try_to_lock).
  bool try_lock();

  // "<weft::Lock at 0x... [locked, waiters:1]>"
  std::string repr() const;

 private:
  bool free_for_newcomer_locked() const;
  void wake_up_first_locked();

  mutable detail::FutexLock mutex_;  // guards everything below
  bool locked_ = false;
  detail::WaiterFifo waiters_;
};

// std::lock_guard for weft's primitives (Lock, Semaphore, BoundedSemaphore, Condition): acquire()
// in the constructor -- inside a task -- and release() in the destructor. `async with x:`.
template <class Acquirable>
class [[nodiscard]] LockGuard {
 public:
  explicit LockGuard(Acquirable& primitive) : primitive_(primitive) { primitive_.acquire(); }
  ~LockGuard() { primitive_.release(); }
  LockGuard(const LockGuard&) = delete;
  LockGuard& operator=(const LockGuard&) = delete;

 private:
  Acquirable& primitive_;
};

}  // namespace weft
