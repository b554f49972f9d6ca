// Event: asyncio.Event -- a flag that tasks can wait for.
//
//   weft::Event ready;
//   // task A:                     // task B (or any thread):
//   ready.wait();                  ready.set();
//
// wait() suspends the calling task until the flag is set; set() wakes every task waiting.
// set(), clear(), is_set() and repr() may be called from any thread; wait() only inside a task.
// Not copyable or movable (share it by reference), like std::mutex.
#pragma once

#include <mutex>
#include <string>

#include "weft/detail/sync_waiters.hpp"

namespace weft {

class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  bool is_set() const;
  // Sets the flag and wakes every waiting task; tasks that wait() afterwards do not block.
  void set();
  // Resets the flag: wait() blocks again until the next set().
  void clear();
  // Returns true at once if the flag is set, else suspends until set() is called. Cancelling
  // the task raises CancelledError here.
  bool wait();

  // "<weft::Event at 0x... [unset, waiters:2]>"
  std::string repr() const;

 private:
  mutable detail::FutexLock mutex_;  // guards everything below
  bool value_ = false;
  detail::WaiterFifo waiters_;
};

}  // namespace weft
