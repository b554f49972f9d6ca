// Fiber stacks: how big they are. Stacks are carved from mmap'd slabs, each with a guard
// region below it, committed lazily by the kernel, and recycled warm through per-thread caches.
//
// A coroutine that cannot get a stack (the address-space limit, RLIMIT_AS, or the kernel's limit
// of memory mappings, vm.max_map_count, is reached) raises weft::MemoryError at its first step:
// a Task fails with it, as an asyncio Task whose step raised MemoryError does.
#pragma once

#include <cstddef>

namespace weft {

// The bounds of a coroutine's stack size. The minimum leaves room to throw and catch an
// exception (the unwinder alone needs a few KiB); the maximum keeps a stack plus its guard far
// from overflowing size_t when rounded up to pages.
inline constexpr std::size_t min_stack_size = 16 * 1024;
inline constexpr std::size_t max_stack_size = std::size_t{1} << 30;

// The usable size of the stack each new coroutine gets (rounded up to whole pages).
// Default 64 KiB. Coroutines created afterwards use the new size. Throws weft::ValueError for a
// size outside [min_stack_size, max_stack_size].
void set_default_stack_size(std::size_t bytes);
std::size_t default_stack_size() noexcept;

}  // namespace weft
