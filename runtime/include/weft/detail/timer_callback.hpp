// Internal: what a timer holds when it runs a callback (asyncio's TimerHandle), beside the tasks'
// sleeps in the timer queue.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace weft::detail {

// A callback timer: runs `callback` on the worker that set it (or on another while that one is
// blocked inside a step), unless cancelled first.
struct TimerCallback {
  std::function<void()> callback;
  std::int64_t when_ns = 0;
  // Relaxed is enough on its own; callers that need cancel-vs-run exclusion add their own lock.
  std::atomic<bool> cancelled{false};
};

}  // namespace weft::detail
