// Fiber stacks: how big they are. Stacks are carved from mmap'd slabs, each with a guard
// region below it, committed lazily by the kernel, and recycled warm through per-thread caches.
#pragma once

#include <cstddef>

namespace weft {

// The usable size of the stack each new coroutine gets (rounded up to whole pages).
// Default 64 KiB. Coroutines created afterwards use the new size.
void set_default_stack_size(std::size_t bytes);
std::size_t default_stack_size() noexcept;

}  // namespace weft
