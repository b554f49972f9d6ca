// Internal: turns a fault in a stack's guard region into a clear message naming the coroutine.
#pragma once

namespace weft::detail {

// Installs (once per process) the SIGSEGV handler and (once per thread) an alternate signal
// stack, so the handler can run when the faulting stack is exhausted. Cheap after the first call.
void ensure_overflow_guard_on_this_thread();

// The name of the coroutine running on this thread, or nullptr. Provided by the frame layer;
// async-signal-safe.
const char* running_coroutine_name() noexcept;

}  // namespace weft::detail
