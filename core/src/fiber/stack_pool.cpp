// Stacks are carved from slabs: one mmap holds many [guard | stack] strides. A guard installed
// with MADV_GUARD_INSTALL (Linux >= 6.13) does not split the mapping, so a million stacks cost a
// few thousand mappings; older kernels fall back to mprotect, which splits it (two mappings per
// stack), and hit vm.max_map_count near 32k stacks. Running out of address space (RLIMIT_AS) or
// of mappings is a weft::MemoryError for the coroutine that wanted the stack, nothing worse:
// the paths that give stacks back never allocate, so they cannot fail when memory is short.
//
// Pages of warm stacks go back to the kernel only once they have lain unused for a while
// (trim_delay): a stack released in a busy phase is usually taken again within microseconds, and
// giving its page back then costs a MADV_DONTNEED, TLB-shootdown IPIs to the other workers and a
// fresh page fault on reuse. The delay is kept by a background thread, the trimmer, started the
// first time a pool holds more warm stacks than it keeps for good.
#include "weft/detail/stack_pool.hpp"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "fiber/pool_counters.hpp"
#include "weft/errors.hpp"
#include "weft/stack.hpp"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef PIDFD_SELF_THREAD_GROUP
#define PIDFD_SELF_THREAD_GROUP -10001  // Linux >= 6.15: "this process" for process_madvise
#endif

namespace weft {
namespace {

// Relaxed: the size is a setting read when a coroutine starts; no data hangs off it.
std::atomic<std::size_t> configured_stack_size{64 * 1024};

}  // namespace

void set_default_stack_size(std::size_t bytes) {
  if (bytes < min_stack_size || bytes > max_stack_size) {
    // Python's threading.stack_size words it so.
    throw ValueError("size not valid: " + std::to_string(bytes) +
                     " bytes (a coroutine stack must be between " + std::to_string(min_stack_size) +
                     " and " + std::to_string(max_stack_size) +
                     " bytes); pass weft::set_default_stack_size a size in that range");
  }
  configured_stack_size.store(bytes, std::memory_order_relaxed);
}

std::size_t default_stack_size() noexcept {
  return configured_stack_size.load(std::memory_order_relaxed);
}

}  // namespace weft

namespace weft::detail {
namespace {

const std::size_t page_size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
// Guard regions cost address space only. What makes them sufficient is stack-clash protection
// (-fstack-clash-protection, which weft builds with and exports to its users): a function whose
// frame is larger than the probe interval touches every interval of it on the way down, so the
// guard must be at least one probe interval wide -- 4 KiB by default in gcc and clang, and
// 16 KiB here with 4 KiB pages. Code built without the flag may still jump a guard with a frame
// larger than it.
constexpr std::size_t guard_pages = 4;
constexpr std::size_t slab_bytes_target = 16u << 20;  // 16 MiB of address space per slab
constexpr std::size_t thread_cache_limit = 64;        // warm stacks a thread keeps for itself
constexpr std::size_t warm_pool_limit = 1024;         // warm stacks the shared pool keeps
// How long a warm stack beyond warm_pool_limit must lie unused before its pages go back.
constexpr auto trim_delay = std::chrono::milliseconds(100);

// ---- slab registry: read by the SIGSEGV handler, so append-only and lock-free to read.
struct SlabRecord {
  std::uintptr_t begin;
  std::uintptr_t end;
  std::size_t stride;
  std::size_t guard;
};
constexpr std::size_t max_slabs = 1 << 16;
SlabRecord slab_records[max_slabs];
// Release on publish / acquire in the handler: a record is complete before it is counted.
std::atomic<std::size_t> slab_count{0};

// 0 = unknown, 1 = madvise guards work, 2 = fall back to mprotect.
std::atomic<int> guard_method{0};

std::size_t round_to_pages(std::size_t bytes) {
  return (bytes + page_size - 1) / page_size * page_size;
}

// madvise(advice) over many ranges, a few syscalls for all: process_madvise on this process takes
// up to IOV_MAX ranges a call (Linux >= 6.13 for any advice, PIDFD_SELF_* since 6.15). Returns
// how many ranges, from the front, were advised; the caller handles the rest one by one (older
// kernels refuse the call outright).
std::size_t advise_ranges(std::vector<iovec>& ranges, int advice) noexcept {
  constexpr std::size_t iov_max = 1024;
  std::size_t done = 0;
  while (done < ranges.size()) {
    const std::size_t n = std::min(iov_max, ranges.size() - done);
    long advised =
        syscall(SYS_process_madvise, PIDFD_SELF_THREAD_GROUP, ranges.data() + done, n, advice, 0u);
    if (advised < 0) return done;
    // A short count means the kernel stopped at a range: count the ranges it finished.
    auto left = static_cast<std::size_t>(advised);
    std::size_t whole = 0;
    while (whole < n && left >= ranges[done + whole].iov_len)
      left -= ranges[done + whole++].iov_len;
    done += whole;
    if (whole < n) return done;
  }
  return done;
}

void install_guard(void* address, std::size_t bytes) {
  // Relaxed: every thread probes the same kernel and reaches the same answer.
  int method = guard_method.load(std::memory_order_relaxed);
  if (method != 2) {
    if (madvise(address, bytes, MADV_GUARD_INSTALL) == 0) {
      guard_method.store(1, std::memory_order_relaxed);
      return;
    }
    // No memory for the page tables: map_slab turns it into carve_slab's MemoryError.
    if (errno == ENOMEM) throw MemoryError("weft: no memory for a stack guard");
    if (errno != EINVAL) {
      throw RuntimeError(
          std::string("weft: madvise(MADV_GUARD_INSTALL) failed for a stack guard: ") +
          std::strerror(errno));
    }
    guard_method.store(2, std::memory_order_relaxed);
  }
  if (mprotect(address, bytes, PROT_NONE) != 0) {
    // Each mprotect'd guard splits the mapping: this is vm.max_map_count, which carve_slab's
    // MemoryError names (map_slab turns this one into it).
    if (errno == ENOMEM) throw MemoryError("weft: no mapping left for a stack guard");
    throw RuntimeError(std::string("weft: mprotect of a stack guard failed: ") +
                       std::strerror(errno));
  }
}

// One pool per stack size; in practice there is one (the default) or a handful.
struct SizePool {
  std::size_t size;
  std::mutex mutex;
  // Guarded by mutex: released stacks, their pages still committed. Released stacks go on the
  // back and are taken from the back, so the front holds the ones unused the longest.
  std::vector<Stack> warm;
  std::vector<Stack> fresh;  // guarded by mutex: never used, or trimmed: no committed pages
  // Guarded by mutex: stacks carved so far. warm and fresh keep at least this capacity, so a
  // release, which must not fail, never allocates.
  std::size_t carved = 0;
  // Guarded by mutex: the least warm.size() has been since the trimmer last looked, so
  // warm[0, unused_since_look) have lain on the list, untouched, all that time.
  std::size_t unused_since_look = 0;
  // Relaxed mirror of warm.size() for trim_stack_pools()'s lock-free "anything to do?" check.
  std::atomic<std::size_t> warm_count{0};
};

std::mutex pools_mutex;
// Guarded by pools_mutex. Pools live for the process and are never destroyed (a stack may be
// released by a thread that exits after main), so neither is the list: leak checkers see it.
std::vector<SizePool*>& pools = *new std::vector<SizePool*>;

// fork(): as for the block pool's lists (block_pool.cpp), every lock here is taken just before
// fork() and released in both processes after, so the child finds them free and the lists
// consistent. Order: pools_mutex, then each pool's, as nothing here takes pools_mutex while
// holding a pool's. The trimmer has its own handler (see trimmer()).
void lock_pools_for_fork() noexcept {
  pools_mutex.lock();
  for (SizePool* pool : pools) pool->mutex.lock();
}
void unlock_pools_after_fork() noexcept {
  for (SizePool* pool : pools) pool->mutex.unlock();
  pools_mutex.unlock();
}
// After `pools` above, which this translation unit initialises first.
[[maybe_unused]] const int fork_handlers =
    pthread_atfork(lock_pools_for_fork, unlock_pools_after_fork, unlock_pools_after_fork);

SizePool& pool_for(std::size_t size) {
  std::lock_guard lock(pools_mutex);
  for (SizePool* pool : pools) {
    if (pool->size == size) return *pool;
  }
  pools.push_back(new SizePool{size, {}, {}, {}, 0, 0, {}});
  return *pools.back();
}

// Maps `count` [guard | stack] strides and installs their guards; unmaps them again if a guard
// cannot be installed. Returns nullptr when the kernel has no address space or mapping left.
char* map_slab(std::size_t stride, std::size_t count, std::size_t guard) {
  const std::size_t bytes = stride * count;
  void* slab = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (slab == MAP_FAILED) {
    if (errno == ENOMEM) return nullptr;
    throw RuntimeError(std::string("weft: cannot map ") + std::to_string(bytes >> 10) +
                       " KiB for coroutine stacks: " + std::strerror(errno));
  }
  auto* begin = static_cast<char*>(slab);
  try {
    // One syscall per IOV_MAX guards where the kernel allows it: a guard costs ~1.1 us through
    // madvise and ~0.7 us batched, on every stack the process ever uses.
    std::size_t installed = 0;
    if (guard_method.load(std::memory_order_relaxed) == 1) {  // relaxed: see install_guard
      std::vector<iovec> guards(count);
      for (std::size_t i = 0; i < count; ++i) guards[i] = {begin + i * stride, guard};
      installed = advise_ranges(guards, MADV_GUARD_INSTALL);
    }
    for (std::size_t i = installed; i < count; ++i) install_guard(begin + i * stride, guard);
  } catch (const MemoryError&) {
    munmap(slab, bytes);  // not registered yet: nobody knows of it
    return nullptr;       // no mapping left for a guard: a smaller slab needs fewer
  } catch (...) {
    munmap(slab, bytes);
    throw;
  }
  return begin;
}

// Maps a slab of stacks for `pool` and puts them on its free list. Called with pool.mutex held.
void carve_slab(SizePool& pool) {
  const std::size_t guard = guard_pages * page_size;
  const std::size_t stride = guard + pool.size;
  std::size_t count = std::max<std::size_t>(1, slab_bytes_target / stride);
  // Room on the lists for every stack of the pool, before anything is mapped (see `carved`).
  pool.warm.reserve(pool.carved + count);
  pool.fresh.reserve(pool.carved + count);
  char* begin = map_slab(stride, count, guard);
  if (!begin && count > 1) {
    // The address space is nearly used up: a single stack may still fit.
    count = 1;
    begin = map_slab(stride, count, guard);
  }
  if (!begin) {
    throw MemoryError(
        "weft: cannot map a coroutine stack (" + std::to_string(stride >> 10) +
        " KiB with its guard): Cannot allocate memory: the process reached its address-space "
        "limit (RLIMIT_AS, `ulimit -v`) or the kernel's limit of memory mappings "
        "(vm.max_map_count; before Linux 6.13 each stack's guard costs one). Let tasks finish, "
        "raise the limit (`sysctl vm.max_map_count=...`), or lower weft::set_default_stack_size.");
  }
  const std::size_t bytes = stride * count;
  pool.carved += count;
  // Relaxed read of our own slot number is fine: slabs are carved under a pool mutex, and the
  // fetch_add gives each carver a distinct slot.
  static std::atomic<std::size_t> next_slot{0};
  std::size_t slot = next_slot.fetch_add(1, std::memory_order_relaxed);
  if (slot < max_slabs) {
    slab_records[slot] = {reinterpret_cast<std::uintptr_t>(begin),
                          reinterpret_cast<std::uintptr_t>(begin + bytes), stride, guard};
    // Publish in slot order so the handler never reads a half-written record: wait for the
    // slots before ours (carvers of other pools) to be published first.
    std::size_t expected = slot;
    while (!slab_count.compare_exchange_weak(expected, slot + 1, std::memory_order_release,
                                             std::memory_order_relaxed)) {
      expected = slot;
    }
  }
  for (std::size_t i = count; i-- > 0;) {
    pool.fresh.push_back(Stack{begin + i * stride + guard, pool.size});
  }
}

// The per-thread cache of warm default-size stacks: the fast path takes no lock.
struct ThreadCache {
  std::size_t size = 0;
  std::vector<Stack> stacks;
  ~ThreadCache() {
    for (Stack s : stacks) release_stack_to_pool(s);
  }
  static void release_stack_to_pool(Stack stack) noexcept;
};

thread_local ThreadCache thread_cache;

void ThreadCache::release_stack_to_pool(Stack stack) noexcept {
  // No syscall here: releasing is on every task's path. Memory beyond the warm watermark is
  // given back in batches by the trimmer, once it has lain unused for trim_delay.
  SizePool& pool = pool_for(stack.size);
  std::lock_guard lock(pool.mutex);
  pool.warm.push_back(stack);
  pool.warm_count.store(pool.warm.size(), std::memory_order_relaxed);
}

std::vector<SizePool*> all_pools() {
  std::lock_guard lock(pools_mutex);
  return pools;
}

bool any_pool_over_limit() noexcept {
  std::lock_guard lock(pools_mutex);
  for (SizePool* pool : pools) {
    if (pool->warm_count.load(std::memory_order_relaxed) > warm_pool_limit) return true;
  }
  return false;
}

// ---- the trimmer: gives back the pages of surplus warm stacks once they lie unused a while.
struct Trimmer {
  std::mutex mutex;
  std::condition_variable wake;
  bool running = false;    // guarded by mutex: the thread exists in this process
  bool requested = false;  // guarded by mutex: a look at the pools is wanted or under way
};

// Replaced in a forked child (the trimmer thread does not survive fork; its mutex may have been
// held at the fork), so a reference is taken afresh by every user. Never destroyed: the thread
// may still wait on it while the process exits.
std::atomic<Trimmer*> current_trimmer{nullptr};

Trimmer& trimmer() {
  // Acquire/release: the Trimmer is constructed before a thread that finds it uses it.
  Trimmer* t = current_trimmer.load(std::memory_order_acquire);
  if (t) return *t;
  static std::once_flag once;
  std::call_once(once, [] {
    current_trimmer.store(new Trimmer, std::memory_order_release);
    pthread_atfork(nullptr, nullptr, [] {
      // The child has one thread, so nothing races this store.
      current_trimmer.store(new Trimmer, std::memory_order_relaxed);
    });
  });
  return *current_trimmer.load(std::memory_order_acquire);
}

// Starts a look: from now on, each pool counts how far into its warm list it is dipped into.
void mark_pools(const std::vector<SizePool*>& all) {
  for (SizePool* pool : all) {
    std::lock_guard lock(pool->mutex);
    pool->unused_since_look = pool->warm.size();
  }
}

// Ends a look: gives back the pages of the warm stacks beyond warm_pool_limit that nobody took
// since mark_pools.
void give_back_unused(const std::vector<SizePool*>& all) {
  for (SizePool* pool : all) {
    std::vector<Stack> unused;
    std::vector<iovec> ranges;
    {
      std::lock_guard lock(pool->mutex);
      const std::size_t idle = std::min(pool->unused_since_look, pool->warm.size());
      if (idle > warm_pool_limit) {
        // The longest unused first: the front of the list. Both lists are allocated before the
        // stacks leave `warm`, so running out of memory here loses none of them.
        const auto end = pool->warm.begin() + static_cast<std::ptrdiff_t>(idle - warm_pool_limit);
        unused.insert(unused.end(), pool->warm.begin(), end);
        ranges.resize(unused.size());
        pool->warm.erase(pool->warm.begin(), end);
        pool->warm_count.store(pool->warm.size(), std::memory_order_relaxed);
      }
      pool->unused_since_look = pool->warm.size();
    }
    if (unused.empty()) continue;
    // Off every list while their pages go back: nobody can be running a fiber on them (a late
    // MADV_DONTNEED on a stack in use would zero its live frames).
    for (std::size_t i = 0; i < unused.size(); ++i) ranges[i] = {unused[i].base, unused[i].size};
    for (std::size_t i = advise_ranges(ranges, MADV_DONTNEED); i < ranges.size(); ++i) {
      madvise(ranges[i].iov_base, ranges[i].iov_len, MADV_DONTNEED);
    }
    std::lock_guard lock(pool->mutex);
    pool->fresh.insert(pool->fresh.end(), unused.begin(), unused.end());
  }
}

void trimmer_main() {
  pthread_setname_np(pthread_self(), "weft-trimmer");
  Trimmer& t = trimmer();
  for (;;) {
    {
      std::unique_lock lock(t.mutex);
      t.wake.wait(lock, [&] { return t.requested; });
    }
    try {
      std::vector<SizePool*> all = all_pools();
      mark_pools(all);
      std::this_thread::sleep_for(trim_delay);
      give_back_unused(all);
    } catch (const std::bad_alloc&) {
      // No memory for the lists: what was not given back waits for the next look.
    }
    {
      std::lock_guard lock(t.mutex);
      t.requested = false;
    }
    // A worker that asked during the look was turned away, though it may have released stacks
    // after we passed its pool. Cleared first, checked second: a release we miss here is
    // followed by a trim_stack_pools() that finds `requested` false and asks again.
    if (any_pool_over_limit()) {
      std::lock_guard lock(t.mutex);
      t.requested = true;
    }
  }
}

}  // namespace

Stack allocate_stack(std::size_t size) {
  size = round_to_pages(size);
  PoolCounters* counters = tls_pool_counters;
  ThreadCache& cache = thread_cache;
  if (cache.size == size && !cache.stacks.empty()) {
    Stack s = cache.stacks.back();
    cache.stacks.pop_back();
    if (counters) count_one(counters->stack_hits);
    return s;
  }
  SizePool& pool = pool_for(size);
  std::lock_guard lock(pool.mutex);
  // Warm first: its top pages are committed already (a first touch costs ~1.5 us a page).
  const bool warm = !pool.warm.empty();
  std::vector<Stack>& from = warm ? pool.warm : pool.fresh;
  if (from.empty()) carve_slab(pool);
  Stack s = from.back();
  from.pop_back();
  pool.unused_since_look = std::min(pool.unused_since_look, pool.warm.size());
  pool.warm_count.store(pool.warm.size(), std::memory_order_relaxed);
  if (counters) count_one(warm ? counters->stack_hits : counters->stack_misses);
  return s;
}

void release_stack(Stack stack) noexcept {
  if (PoolCounters* counters = tls_pool_counters) count_one(counters->stacks_released);
  ThreadCache& cache = thread_cache;
  if (cache.stacks.capacity() < thread_cache_limit) {
    try {
      cache.stacks.reserve(thread_cache_limit);
    } catch (const std::bad_alloc&) {
      // Out of memory: the shared pool has room for it already.
      ThreadCache::release_stack_to_pool(stack);
      return;
    }
  }
  if (cache.stacks.empty()) cache.size = stack.size;
  if (cache.size == stack.size && cache.stacks.size() < thread_cache_limit) {
    cache.stacks.push_back(stack);
    return;
  }
  ThreadCache::release_stack_to_pool(stack);
}

void trim_stack_pools() noexcept {
  if (!any_pool_over_limit()) return;
  try {
    Trimmer& t = trimmer();
    std::lock_guard lock(t.mutex);
    if (t.requested) return;  // a look is under way: it covers what we saw
    t.requested = true;
    if (t.running) {
      t.wake.notify_one();
      return;
    }
    try {
      std::thread(trimmer_main).detach();
      t.running = true;
    } catch (...) {
      t.requested = false;
      throw;
    }
  } catch (...) {
    // Out of memory or threads: the pages stay warm until a later call does better.
  }
}

bool is_stack_guard_address(std::uintptr_t address) noexcept {
  std::size_t n = std::min(slab_count.load(std::memory_order_acquire), max_slabs);
  for (std::size_t i = 0; i < n; ++i) {
    const SlabRecord& r = slab_records[i];
    if (address >= r.begin && address < r.end) return (address - r.begin) % r.stride < r.guard;
  }
  return false;
}

bool guards_use_madvise() noexcept {
  return guard_method.load(std::memory_order_relaxed) == 1;
}

}  // namespace weft::detail
