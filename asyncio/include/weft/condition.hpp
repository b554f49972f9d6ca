// Condition: asyncio.Condition -- tasks wait, holding a Lock, until another task notifies them.
//
//   weft::Condition cond;                       // its own Lock; or Condition cond(lock)
//   {
//     weft::LockGuard guard(cond);              // `async with cond:`
//     cond.wait_for([&] { return !items.empty(); });
//     ...
//   }
//   { weft::LockGuard guard(cond); items.push_back(x); cond.notify(); }
//
// wait() releases the lock, suspends until notified, and takes the lock back before it returns
// -- even when the task is cancelled, in which case CancelledError follows once the lock is
// held again. Waiters are notified in FIFO order. All calls except repr() belong inside a task
// holding the lock (acquire(), wait(), wait_for()) or hold it (notify()). Not copyable/movable.
#pragma once

#include <concepts>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include "weft/detail/sync_waiters.hpp"
#include "weft/lock.hpp"

namespace weft {

class Condition {
 public:
  Condition();                     // with a Lock of its own
  explicit Condition(Lock& lock);  // sharing `lock` (which must outlive the condition)
  Condition(const Condition&) = delete;
  Condition& operator=(const Condition&) = delete;

  // The underlying lock's acquire / release / locked (and Lockable names).
  bool acquire() { return lock_.acquire(); }
  void release() { lock_.release(); }
  bool locked() const { return lock_.locked(); }
  void lock() { lock_.acquire(); }
  void unlock() { lock_.release(); }

  // Releases the lock, waits to be notified, re-acquires the lock; returns true.
  // RuntimeError("cannot wait on un-acquired lock") if the lock is not held.
  bool wait();
  // Waits until predicate() is true (checked first, then after each wake-up, with the lock
  // held) and returns its last value, by value. As asyncio takes any truthy result, the result
  // need only convert to bool, explicitly will do: an int, a pointer, a std::optional...
  //   auto job = cond.wait_for([&] { return jobs.empty() ? nullptr : &jobs.front(); });
  template <class Predicate>
  requires std::invocable<Predicate&> &&
      requires(std::remove_cvref_t<std::invoke_result_t<Predicate&>>& r) {
    static_cast<bool>(r);
  }
  auto wait_for(Predicate predicate) -> std::remove_cvref_t<std::invoke_result_t<Predicate&>> {
    for (;;) {
      // A fresh object per check: the result need not be assignable, only movable.
      std::remove_cvref_t<std::invoke_result_t<Predicate&>> result = predicate();
      if (static_cast<bool>(result)) return result;
      wait();
    }
  }
  // Wakes up to `n` waiting tasks (they resume once they get the lock back).
  // RuntimeError("cannot notify on un-acquired lock") if the lock is not held.
  void notify(std::size_t n = 1);
  void notify_all();

  // "<weft::Condition at 0x... [locked, waiters:1]>"
  std::string repr() const;

 private:
  void notify_locked(std::size_t n);

  std::optional<Lock> own_lock_;
  Lock& lock_;
  mutable detail::FutexLock mutex_;  // guards waiters_
  detail::WaiterFifo waiters_;
};

}  // namespace weft
