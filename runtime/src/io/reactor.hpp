// The I/O reactor (architecture.md §15): epoll, edge-triggered, each fd registered once. Per fd a
// record with one readiness word per direction -- empty, ready, or the waiter of the one task
// that waits -- and a generation, carried in the epoll data, so that an event for an fd closed
// and reused since is dropped. Who polls, and when, is the scheduler's business (park() and
// find_work() in scheduler.cpp); the reactor only makes one poll safe to run at a time per
// epoll instance, and wakes the tasks an event readies (TaskCore::fire).
//
// Written for N shards (RunOptions::io_shards): fd `f` lives in shard f % N, each shard an epoll
// instance of its own. With N > 1 a root epoll instance holds the shards' descriptors and the
// break eventfd, so one thread can still block on all of them; a shard that turns readable is
// then polled without blocking. With N = 1 the one shard is what the blocking poller waits on.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "weft/detail/io_wait.hpp"

namespace weft::detail {

class TaskCore;

// A task waiting on one direction of one fd. Lives on the waiting fiber's stack (io_wait.cpp).
struct IoWaiter {
  TaskCore* task = nullptr;
  std::uint64_t token = 0;
  // False while the waiter sits in a readiness word. Whoever takes it out of the word to wake it
  // stores true (release) once its call to fire() is over; the fiber, having failed to take
  // itself out, waits for that before its stack -- where this lives -- moves on.
  std::atomic<bool> delivered{true};
};

struct IoRecord {
  // Odd while registered, even while not; bumped (seq_cst) by add() and remove(). A waiter
  // re-reads it after publishing itself: see Reactor::remove.
  std::atomic<std::uint32_t> generation{0};
  // Reactor::empty, Reactor::ready, or an IoWaiter* (aligned: never 0 or 1).
  std::atomic<std::uintptr_t> words[2] = {};
  // Set by a poll that saw the peer close or the socket fail (EPOLLRDHUP, EPOLLERR),
  // cleared by add(): final for this life of the fd, as Tokio's read-closed readiness. A read
  // that came back short may be followed by EOF or the error with no edge of its own to come.
  std::atomic<bool> read_hung_up{false};
};

class Reactor {
 public:
  static constexpr std::uintptr_t empty = 0;
  static constexpr std::uintptr_t ready = 1;
  static constexpr int max_fds = 1 << 22;

  explicit Reactor(unsigned shards);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // Registers `fd` (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET) and returns its generation; an fd
  // registered already keeps its registration (`added` false). OSError when epoll refuses it.
  std::uint32_t add(int fd, bool& added);
  // The fd's record, or null if the fd was never registered (no allocation, unlike record()).
  IoRecord* find(int fd) const noexcept;
  // Takes `fd` of `generation` out of epoll (before the caller closes it), bumps the generation
  // and wakes both directions' waiters: they find the generation moved. A stale call (the fd
  // was removed already) does nothing.
  void remove(int fd, std::uint32_t generation);
  IoRecord& record(int fd);

  // Tasks waiting on I/O (and add_reader / add_writer watchers). Nobody polls while it is 0, so
  // an idle runtime burns no CPU. Relaxed: a hint for who should poll, see architecture.md §15.
  bool has_waiters() const noexcept { return waiters_.load(std::memory_order_relaxed) != 0; }
  void count_waiter(int delta) noexcept { waiters_.fetch_add(delta, std::memory_order_relaxed); }
  // How many, for metrics. Relaxed, as above: a count, ordering nothing.
  std::uint64_t waiter_count() const noexcept {
    std::int64_t n = waiters_.load(std::memory_order_relaxed);
    return n > 0 ? static_cast<std::uint64_t>(n) : 0;
  }

  // A poll that does not block, of every shard nobody else polls. Returns the tasks it woke.
  int poll_now();
  // The blocking poller's role, one thread at a time (a try-lock).
  bool try_begin_blocking() noexcept;
  void end_blocking() noexcept;
  // Whether a thread holds the blocking role (relaxed: a hint for non-blocking pollers).
  bool poller_blocked() const noexcept { return blocking_.load(std::memory_order_relaxed); }
  // With the role: waits until an event, interrupt(), or `deadline_ns` (absolute
  // CLOCK_MONOTONIC; < 0 none). Returns the tasks it woke.
  int poll_blocking(std::int64_t deadline_ns);
  // Makes the blocking poller return (eventfd). Writes collapse: at most one is pending.
  void interrupt() noexcept;

  // Set once the runtime has shut down (asyncio's loop.is_closed()), for the objects that
  // outlive it: an unclosed StreamWriter dropped then says "loop is closed". Release/acquire:
  // whoever sees it set sees the shutdown finished.
  void mark_loop_closed() noexcept { loop_closed_.store(true, std::memory_order_release); }
  bool loop_closed() const noexcept { return loop_closed_.load(std::memory_order_acquire); }

 private:
  struct Shard {
    int epfd = -1;
    std::atomic<bool> polling{false};  // try-lock: one poll of this instance at a time
  };
  int poll_shard(Shard& shard, std::int64_t deadline_ns);
  int dispatch(const void* events, int count);
  void drain_break() noexcept;

  static constexpr int chunk_bits = 12;
  static constexpr int chunk_count = max_fds >> chunk_bits;

  std::vector<std::unique_ptr<Shard>> shards_;
  int root_epfd_ = -1;  // N > 1 only: holds the shards' epfds and the eventfd
  int break_fd_ = -1;   // the eventfd
  std::atomic<bool> break_pending_{false};
  std::atomic<bool> blocking_{false};
  std::atomic<bool> loop_closed_{false};
  alignas(64) std::atomic<std::int64_t> waiters_{0};
  // Records never move nor go away while the reactor lives: a chunk of 4096 is made on first
  // use of one of its fds (CAS), so a poller may look a record up without a lock.
  std::unique_ptr<std::atomic<IoRecord*>[]> chunks_;
};

}  // namespace weft::detail
