// Barrier: asyncio.Barrier -- `parties` tasks wait() until all of them have arrived, then all
// go on together; the barrier is then ready for the next round.
//
//   weft::Barrier barrier(3);
//   auto index = barrier.wait();   // in each of 3 tasks: 0, 1, 2 in arrival order
//
// abort() breaks the barrier: waiting and later wait() calls raise BrokenBarrierError until
// reset(). reset() sends the tasks waiting now away with BrokenBarrierError and makes the
// barrier usable again. wait(), reset() and abort() run inside a task (they take the barrier's
// internal Condition lock, as asyncio's coroutines do); parties(), n_waiting(), broken() and
// repr() from anywhere. Not copyable or movable.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>

#include "weft/condition.hpp"
#include "weft/errors.hpp"

namespace weft {

// asyncio.BrokenBarrierError (a RuntimeError): the barrier was aborted, or reset while waiting.
class BrokenBarrierError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

class Barrier {
 public:
  // ValueError("parties must be > 0") if parties < 1.
  explicit Barrier(std::ptrdiff_t parties);
  Barrier(const Barrier&) = delete;
  Barrier& operator=(const Barrier&) = delete;

  // Waits for the other parties; returns this task's arrival index, 0 .. parties-1.
  // BrokenBarrierError if the barrier is (or gets) broken or reset meanwhile.
  std::ptrdiff_t wait();
  // Back to the initial state; tasks waiting now get BrokenBarrierError.
  void reset();
  // Breaks the barrier: waiting tasks, and later wait() calls, get BrokenBarrierError.
  void abort();

  std::ptrdiff_t parties() const noexcept { return parties_; }
  // Tasks waiting for the barrier to fill (0 while it drains or resets).
  std::ptrdiff_t n_waiting() const noexcept;
  bool broken() const noexcept;

  // "<weft::Barrier at 0x... [filling, waiters:1/3]>"
  std::string repr() const;

 private:
  enum class State { filling, draining, resetting, broken };
  void block();
  void release();
  void wait_released();
  void exit();

  Condition cond_;  // its lock guards the transitions of state_ and count_
  const std::ptrdiff_t parties_;
  // Atomic only so that n_waiting()/broken()/repr() may read them without the lock; every
  // write happens with cond_'s lock held, whose hand-over orders them (relaxed is enough).
  std::atomic<State> state_{State::filling};
  std::atomic<std::ptrdiff_t> count_{0};
};

}  // namespace weft
