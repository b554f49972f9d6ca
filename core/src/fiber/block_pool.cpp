// The block pool: per-thread free lists in 16-byte size classes, and a shared list of batches
// between them. Tasks are often made on one worker and freed on another, so one thread's cache
// fills while the other's runs dry: a full cache hands its whole list to the shared list as one
// batch (one lock, no walk down the list), an empty one takes a batch back before asking malloc.
//
// While the runtime is busy the shared list keeps what it is given: a burst of tasks that comes
// and goes would otherwise make glibc shrink and regrow its heap (madvise, then an mprotect per
// page) all the time. When a runtime goes idle (its last worker parks) it calls
// trim_block_pool(), which gives the shared list back to malloc, so a burst's memory goes back
// once the burst is over. A thread keeps at most `thread_limit` blocks per class to itself.
//
// Under ASan and TSan the pool steps aside (plain operator new/delete), so the sanitizers still
// see every use after free.
#include "weft/detail/block_pool.hpp"

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "fiber/pool_counters.hpp"

namespace weft::detail {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool pool_enabled = false;
#else
constexpr bool pool_enabled = true;
#endif

// malloc's own granule: a class rounds a request up no further than malloc would (a task's state
// and frame are a few hundred bytes each, and a million suspended tasks feel every 16 bytes).
constexpr std::size_t granule = 16;
constexpr std::size_t class_count = max_pooled_block / granule;
constexpr std::uint32_t thread_limit = 512;  // a full cache becomes one batch
// Below glibc's default mmap threshold and trim threshold (both 128 KiB).
constexpr std::size_t pregrow_bytes = 96 * 1024;

struct FreeBlock {
  FreeBlock* next;
};

// A batch is a chain of blocks linked through `next`, and its length.
struct Batch {
  FreeBlock* head;
  std::uint32_t count;
};
struct SharedClass {
  std::mutex mutex;
  std::vector<Batch> batches;  // guarded by mutex
  // batches.size(), written under the mutex. Relaxed: a hint that lets a thread whose cache ran
  // dry skip the lock while the list is empty (a burst of new tasks); a stale zero only means
  // one more block from operator new, a stale non-zero one look under the lock.
  std::atomic<std::size_t> available{0};
};
SharedClass shared[class_count];

void free_batch(FreeBlock* batch) noexcept {
  while (batch) {
    FreeBlock* next = batch->next;
    ::operator delete(batch);
    batch = next;
  }
}

// Trivially destructible, so reaching it costs no TLS-initialisation check; the Drainer below
// hands its blocks back to malloc when the thread exits.
struct ThreadCache {
  FreeBlock* head[class_count];
  std::uint32_t count[class_count];
  std::size_t pregrown_bytes;  // what the last pre-grow (below) left to hand out
  bool drainer_armed;
};
thread_local ThreadCache cache;

struct Drainer {
  ~Drainer() {
    for (std::size_t c = 0; c < class_count; ++c) {
      while (FreeBlock* block = cache.head[c]) {
        cache.head[c] = block->next;
        ::operator delete(block);
      }
      cache.count[c] = 0;
    }
  }
};
thread_local Drainer drainer;

// fork(): the child has only the thread that forked. A shared list another thread had locked at
// that instant would stay locked in the child for good, and its first allocation of that class
// would hang. So every list is locked just before fork() and unlocked in both processes after,
// as glibc does for malloc's arenas: the child gets consistent lists and free locks. The other
// threads' caches are lost to the child: a leak of free blocks, nothing worse.
void lock_shared_lists() noexcept {
  for (SharedClass& pool : shared) pool.mutex.lock();
}
void unlock_shared_lists() noexcept {
  for (SharedClass& pool : shared) pool.mutex.unlock();
}
// Registered while the library initialises, before any thread of ours exists; `shared` is
// constant-initialised, so it is ready by then.
[[maybe_unused]] const int fork_handlers =
    pthread_atfork(lock_shared_lists, unlock_shared_lists, unlock_shared_lists);

std::size_t class_of(std::size_t bytes) noexcept {
  return (bytes - 1) / granule;  // bytes in (16k, 16(k+1)] -> class k
}

}  // namespace

__attribute__((noinline)) void* allocate_block(std::size_t bytes) {
  PoolCounters* counters = tls_pool_counters;
  if (!pool_enabled || bytes > max_pooled_block || bytes == 0) {
    if (counters) count_one(counters->block_misses);
    return ::operator new(bytes);
  }
  const std::size_t c = class_of(bytes);
  ThreadCache& mine = cache;
  if (FreeBlock* block = mine.head[c]) {
    mine.head[c] = block->next;
    --mine.count[c];
    if (counters) count_one(counters->block_hits);
    return block;
  }
  if (SharedClass& pool = shared[c]; pool.available.load(std::memory_order_relaxed) != 0) {
    std::unique_lock lock(pool.mutex);
    if (!pool.batches.empty()) {
      Batch batch = pool.batches.back();
      pool.batches.pop_back();
      pool.available.store(pool.batches.size(), std::memory_order_relaxed);
      lock.unlock();
      mine.head[c] = batch.head->next;
      mine.count[c] = batch.count - 1;
      if (counters) count_one(counters->block_hits);
      return batch.head;
    }
  }
  if (!mine.drainer_armed) {
    mine.drainer_armed = true;
    (void)&drainer;  // constructs it: its destructor runs at thread exit
  }
  // Round up to the class size, so any block of the class can serve any request of it.
  const std::size_t size = (c + 1) * granule;
  // glibc grows a worker thread's arena by exactly what a request needs: one mprotect per page,
  // which was a quarter of spawn_join's time (a million tasks alive at once). Allocating and
  // freeing one block of pregrow_bytes grows it in one step instead; the freed space stays as
  // the arena's top chunk (below the default trim threshold, 128 KiB) and the blocks that follow
  // are carved from it. With another allocator this is just a malloc/free pair now and then.
  if (mine.pregrown_bytes < size) {
    ::operator delete(::operator new(pregrow_bytes));
    mine.pregrown_bytes = pregrow_bytes;
  }
  mine.pregrown_bytes -= size;
  if (counters) count_one(counters->block_misses);
  return ::operator new(size);
}

__attribute__((noinline)) void deallocate_block(void* block, std::size_t bytes) noexcept {
  if (!pool_enabled || bytes > max_pooled_block || bytes == 0) {
    ::operator delete(block);
    return;
  }
  const std::size_t c = class_of(bytes);
  ThreadCache& mine = cache;
  auto* free_block = static_cast<FreeBlock*>(block);
  if (mine.count[c] >= thread_limit) {
    Batch batch{mine.head[c], mine.count[c]};
    mine.head[c] = nullptr;
    mine.count[c] = 0;
    SharedClass& pool = shared[c];
    std::lock_guard lock(pool.mutex);
    try {
      pool.batches.push_back(batch);
      pool.available.store(pool.batches.size(), std::memory_order_relaxed);
    } catch (...) {
      free_batch(batch.head);  // no memory for the list itself: give the blocks back instead
    }
  }
  free_block->next = mine.head[c];
  mine.head[c] = free_block;
  ++mine.count[c];
}

void trim_block_pool() noexcept {
  if (!pool_enabled) return;
  for (SharedClass& pool : shared) {
    std::vector<Batch> idle;
    {
      std::lock_guard lock(pool.mutex);
      idle.swap(pool.batches);
      pool.available.store(0, std::memory_order_relaxed);
    }
    for (Batch batch : idle) free_batch(batch.head);
  }
}

}  // namespace weft::detail
