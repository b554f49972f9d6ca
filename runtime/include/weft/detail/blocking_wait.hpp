// Internal: how a thread that is not a worker (a foreign thread, run()'s caller) blocks until a
// future is done.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/future_core.hpp"

namespace weft::detail {

// Blocks until `future` is done or the absolute CLOCK_MONOTONIC deadline passes (< 0: never).
// Returns whether it is done. Must not be called from inside a task (it would block a worker).
bool wait_until_done(FutureCore& future, std::int64_t deadline_ns);

// RuntimeError if called from inside a task: a blocking wait there would stall its worker.
void refuse_inside_a_task();

}  // namespace weft::detail
