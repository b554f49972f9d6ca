// Internal: what a worker runs -- a task's step or a scheduled callback -- and what a timer holds.
// The run queues, the injection queue and the timer queue know these two types and nothing more
// of a task.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace weft::detail {

class Runnable {
 public:
  virtual void run() = 0;
  // What it is, as asyncio's repr of a task or a handle (debug reports; never on the hot path).
  virtual std::string describe() const { return "<callback>"; }
  // Intrusive link for the injection queue (written by one producer, read by the consumer).
  std::atomic<Runnable*> next_in_queue{nullptr};

 protected:
  ~Runnable() = default;
};

// A callback timer (asyncio's TimerHandle): runs `callback` on the worker that set it (or on
// another while that one is blocked inside a step), unless cancelled first.
struct TimerCallback {
  std::function<void()> callback;
  std::int64_t when_ns = 0;
  // Relaxed is enough on its own; callers that need cancel-vs-run exclusion add their own lock.
  std::atomic<bool> cancelled{false};
};

}  // namespace weft::detail
