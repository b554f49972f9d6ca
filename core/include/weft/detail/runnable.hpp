// Internal: what a worker runs -- a task's step or a scheduled callback. The run queues and the
// injection queue know this type and nothing more of a task; it lives in core so that a future can
// hand its done callbacks to the runtime as one job (future_core.hpp, CallbackScheduler).
#pragma once

#include <atomic>
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

}  // namespace weft::detail
