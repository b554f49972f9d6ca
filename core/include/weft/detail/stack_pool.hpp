// Internal: the stack allocator behind every fiber.
#pragma once

#include <cstddef>
#include <cstdint>

namespace weft::detail {

struct Stack {
  void* base = nullptr;  // lowest usable address; the guard region lies just below it
  std::size_t size = 0;  // usable bytes
  void* top() const noexcept { return static_cast<char*>(base) + size; }
  explicit operator bool() const noexcept { return base != nullptr; }
};

// Takes a stack of at least `size` usable bytes (page-rounded) from the pool, carving a new slab
// when the pool is empty. Throws weft::MemoryError when the kernel refuses address space or
// mappings (RLIMIT_AS, vm.max_map_count).
Stack allocate_stack(std::size_t size);

// Returns a stack to the pool, warm (its pages stay committed for the next fiber).
void release_stack(Stack stack) noexcept;

// Asks for the pages of the warm stacks beyond a watermark to go back to the kernel (the mappings
// and guards stay) once they have lain unused for a while (100 ms): a background thread does it,
// so a busy phase never pays for giving back a page it is about to fault in again. Cheap when
// there is nothing to do; the runtime calls it when a worker goes idle.
void trim_stack_pools() noexcept;

// True when `address` lies in the guard region of a pooled stack. Async-signal-safe.
bool is_stack_guard_address(std::uintptr_t address) noexcept;

// How guard regions are installed: MADV_GUARD_INSTALL (no extra mapping) or mprotect.
bool guards_use_madvise() noexcept;

}  // namespace weft::detail
