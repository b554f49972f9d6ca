// Internal: recycled memory for the objects every task allocates (its frame, its state, its
// scheduled callbacks). Freed blocks stay in a per-thread cache, by size class, instead of going
// back to malloc: a burst of tasks that comes and goes otherwise makes glibc grow its arenas
// with mprotect and shrink them with madvise over and over (a third of skynet's time).
#pragma once

#include <cstddef>
#include <new>

namespace weft::detail {

// Blocks of up to max_pooled_block bytes come from the pool; larger ones from operator new.
inline constexpr std::size_t max_pooled_block = 1024;

// `bytes` must be the same at both ends (sized delete gives it). Never inlined into callers:
// each call re-reads the thread's cache, so a fiber that moved to another thread uses that one.
void* allocate_block(std::size_t bytes);
void deallocate_block(void* block, std::size_t bytes) noexcept;
// Gives malloc back the blocks in the shared list (not the threads' own caches). Called when a
// runtime goes idle.
void trim_block_pool() noexcept;

// An allocator over the pool, for std::allocate_shared.
template <class T>
struct BlockAllocator {
  using value_type = T;
  BlockAllocator() noexcept = default;
  template <class U>
  BlockAllocator(const BlockAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "over-aligned for the pool");
    return static_cast<T*>(allocate_block(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { deallocate_block(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const BlockAllocator<U>&) const noexcept {
    return true;
  }
};

// Class-level operator new/delete over the pool (for types deleted through a virtual
// destructor, sized delete passes the dynamic type's size). Over-aligned types bypass it.
struct PooledObject {
  static void* operator new(std::size_t bytes) { return allocate_block(bytes); }
  static void operator delete(void* block, std::size_t bytes) noexcept {
    deallocate_block(block, bytes);
  }
  static void* operator new(std::size_t bytes, std::align_val_t align) {
    return ::operator new(bytes, align);
  }
  static void operator delete(void* block, std::size_t bytes, std::align_val_t align) noexcept {
    (void)bytes;  // the unsized form: clang 14 does not enable sized deallocation by default
    ::operator delete(block, align);
  }
};

}  // namespace weft::detail
