// The reactor's mechanics (architecture.md §15): registration, the readiness words, the polls.
#include "io/reactor.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "weft/detail/task_core.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {

// The epoll data of the break eventfd; a record's is (generation << 32) | fd, fd < max_fds.
constexpr std::uint64_t break_tag = ~std::uint64_t{0};
constexpr int max_events = 128;

// Whether epoll_pwait2 is there (Linux >= 5.11); relaxed: each thread may find out on its own.
std::atomic<bool> pwait2_missing{false};

// epoll_pwait2 until `deadline_ns` (absolute CLOCK_MONOTONIC; < 0: none; 0: do not block), so
// timers keep sub-millisecond precision; epoll_pwait, in milliseconds rounded up, without it.
int epoll_wait_until(int epfd, epoll_event* events, int max, std::int64_t deadline_ns) {
  std::int64_t timeout_ns = -1;
  if (deadline_ns == 0) {
    timeout_ns = 0;
  } else if (deadline_ns > 0) {
    timeout_ns = deadline_ns - monotonic_now_ns();
    if (timeout_ns < 0) timeout_ns = 0;
  }
  if (!pwait2_missing.load(std::memory_order_relaxed)) {
    timespec timeout{timeout_ns / 1'000'000'000, timeout_ns % 1'000'000'000};
    int n = ::epoll_pwait2(epfd, events, max, timeout_ns < 0 ? nullptr : &timeout, nullptr);
    if (n >= 0 || errno != ENOSYS) return n;
    pwait2_missing.store(true, std::memory_order_relaxed);
  }
  int timeout_ms = timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999'999) / 1'000'000);
  return ::epoll_pwait(epfd, events, max, timeout_ms, nullptr);
}

void check(int result) {
  if (result < 0) raise_os_error(errno);
}

// Takes the waiter `word` held (if any) out, leaving `replacement`, and wakes it.
int take_and_wake(std::atomic<std::uintptr_t>& word, std::uintptr_t replacement) {
  // acq_rel: acquire the waiter's fields its publisher released; release our readiness to
  // whoever takes the word next.
  std::uintptr_t old = word.exchange(replacement, std::memory_order_acq_rel);
  if (old <= Reactor::ready) return 0;
  auto* waiter = reinterpret_cast<IoWaiter*>(old);
  // The fiber cannot leave its wait before `delivered` below, so its stack record stays put.
  // A poll readies a batch, run one after another on this worker: each task's first miss on
  // its own stack (a line per connection, cold by the time it runs) overlaps the others.
  waiter->task->prefetch_resume();
  waiter->task->fire(waiter->token);
  // Release: the fiber, acquiring it, may let its stack (and the waiter) go.
  waiter->delivered.store(true, std::memory_order_release);
  return 1;
}

}  // namespace

Reactor::Reactor(unsigned shards) : chunks_(new std::atomic<IoRecord*>[chunk_count]) {
  for (int i = 0; i < chunk_count; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
  if (shards == 0) shards = 1;
  break_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  check(break_fd_);
  for (unsigned i = 0; i < shards; ++i) {
    auto shard = std::make_unique<Shard>();
    shard->epfd = ::epoll_create1(EPOLL_CLOEXEC);
    check(shard->epfd);
    shards_.push_back(std::move(shard));
  }
  // The eventfd is level-triggered: it stays readable until a poller drains it.
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.u64 = break_tag;
  if (shards == 1) {
    check(::epoll_ctl(shards_[0]->epfd, EPOLL_CTL_ADD, break_fd_, &event));
    return;
  }
  root_epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
  check(root_epfd_);
  check(::epoll_ctl(root_epfd_, EPOLL_CTL_ADD, break_fd_, &event));
  for (unsigned i = 0; i < shards; ++i) {
    epoll_event shard_event{};
    shard_event.events = EPOLLIN;  // level: stays reported until the shard is polled
    shard_event.data.u64 = i;
    check(::epoll_ctl(root_epfd_, EPOLL_CTL_ADD, shards_[i]->epfd, &shard_event));
  }
}

Reactor::~Reactor() {
  for (auto& shard : shards_) ::close(shard->epfd);
  if (root_epfd_ >= 0) ::close(root_epfd_);
  ::close(break_fd_);
  for (int i = 0; i < chunk_count; ++i) delete[] chunks_[i].load(std::memory_order_relaxed);
}

IoRecord* Reactor::find(int fd) const noexcept {
  if (fd < 0 || fd >= max_fds) return nullptr;
  // Acquire: pairs with the CAS that published the chunk.
  IoRecord* chunk = chunks_[fd >> chunk_bits].load(std::memory_order_acquire);
  return chunk ? &chunk[fd & ((1 << chunk_bits) - 1)] : nullptr;
}

IoRecord& Reactor::record(int fd) {
  if (IoRecord* found = find(fd)) return *found;
  if (fd < 0 || fd >= max_fds) {
    throw ValueError("file descriptor " + std::to_string(fd) + " is out of the reactor's range");
  }
  auto* chunk = new IoRecord[std::size_t{1} << chunk_bits];
  IoRecord* expected = nullptr;
  // acq_rel: publish the new chunk's construction, or see the one that won.
  if (!chunks_[fd >> chunk_bits].compare_exchange_strong(expected, chunk,
                                                         std::memory_order_acq_rel)) {
    delete[] chunk;
    chunk = expected;
  }
  return chunk[fd & ((1 << chunk_bits) - 1)];
}

std::uint32_t Reactor::add(int fd, bool& added) {
  IoRecord& rec = record(fd);
  std::uint32_t generation = rec.generation.load(std::memory_order_acquire);
  added = false;
  if (generation & 1) return generation;  // registered already (add_reader on a weft socket)
  // Fresh words: a stale `ready` left by the fd's previous life would only cost a syscall, but
  // a fresh fd starts with nothing known.
  rec.words[0].store(empty, std::memory_order_relaxed);
  rec.words[1].store(empty, std::memory_order_relaxed);
  rec.read_hung_up.store(false, std::memory_order_relaxed);  // published by the bump below
  // seq_cst, as every generation bump: see remove(). From here stale events are dropped.
  generation = rec.generation.fetch_add(1, std::memory_order_seq_cst) + 1;
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.u64 = (std::uint64_t{generation} << 32) | static_cast<std::uint32_t>(fd);
  if (::epoll_ctl(shards_[static_cast<unsigned>(fd) % shards_.size()]->epfd, EPOLL_CTL_ADD, fd,
                  &event) < 0) {
    int error = errno;
    rec.generation.fetch_add(1, std::memory_order_seq_cst);  // back to unregistered
    raise_os_error(error);
  }
  added = true;
  return generation;
}

void Reactor::remove(int fd, std::uint32_t generation) {
  IoRecord* rec = find(fd);
  if (!rec) return;
  std::uint32_t expected = generation;
  // seq_cst, the Dekker pair of io_wait's publish (a CAS of the word, then a load of the
  // generation): either we see its waiter in the word below and wake it, or it sees the
  // generation moved and takes itself out. Only one remove() of a generation wins.
  if (!rec->generation.compare_exchange_strong(expected, generation + 1,
                                               std::memory_order_seq_cst)) {
    return;
  }
  // Before the caller's close(): the fd number may be reused at once after it.
  ::epoll_ctl(shards_[static_cast<unsigned>(fd) % shards_.size()]->epfd, EPOLL_CTL_DEL, fd,
              nullptr);
  for (auto& word : rec->words) take_and_wake(word, empty);
}

int Reactor::dispatch(const void* raw, int count) {
  const auto* events = static_cast<const epoll_event*>(raw);
  int woken = 0;
  for (int i = 0; i < count; ++i) {
    const std::uint64_t data = events[i].data.u64;
    if (data == break_tag) {
      drain_break();
      continue;
    }
    IoRecord* rec = find(static_cast<int>(data & 0xffff'ffffu));
    // Acquire: pairs with add()'s bump; an event of an fd's earlier life is dropped.
    if (!rec || rec->generation.load(std::memory_order_acquire) != (data >> 32)) continue;
    const std::uint32_t ev = events[i].events;
    // A hang-up or an error readies both sides: the next syscall reports it. Release, before
    // the wake below: a reader that sees the flag sees why (io_read_hung_up). EPOLLHUP alone is
    // not the peer: every shutdown of the receive side, reset or close raises EPOLLRDHUP with it,
    // and a stream socket not yet connected (registered before connect) polls as EPOLLHUP.
    if (ev & (EPOLLRDHUP | EPOLLERR)) {
      rec->read_hung_up.store(true, std::memory_order_release);
    }
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLPRI | EPOLLHUP | EPOLLERR)) {
      woken += take_and_wake(rec->words[0], ready);
    }
    if (ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) woken += take_and_wake(rec->words[1], ready);
  }
  return woken;
}

void Reactor::drain_break() noexcept {
  std::uint64_t value;
  [[maybe_unused]] auto n = ::read(break_fd_, &value, sizeof value);
  // acq_rel, after the drain: an interrupt() that found the flag set wrote nothing, and its
  // caller's stores (a worker's `woken`) become visible to us through this exchange.
  break_pending_.exchange(false, std::memory_order_acq_rel);
}

void Reactor::interrupt() noexcept {
  // acq_rel: see drain_break. Only the first of a burst writes.
  if (break_pending_.exchange(true, std::memory_order_acq_rel)) return;
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(break_fd_, &one, sizeof one);
}

int Reactor::poll_shard(Shard& shard, std::int64_t deadline_ns) {
  epoll_event events[max_events];
  int n = epoll_wait_until(shard.epfd, events, max_events, deadline_ns);
  return n > 0 ? dispatch(events, n) : 0;
}

int Reactor::poll_now() {
  int woken = 0;
  for (auto& shard : shards_) {
    // Acquire: the previous poller's dispatch happened before ours.
    if (shard->polling.exchange(true, std::memory_order_acquire)) continue;
    woken += poll_shard(*shard, 0);
    shard->polling.store(false, std::memory_order_release);
  }
  return woken;
}

bool Reactor::try_begin_blocking() noexcept {
  // Acquire: a try-lock, as the shards' (the previous blocking poller's dispatch is visible).
  if (blocking_.exchange(true, std::memory_order_acquire)) return false;
  if (shards_.size() == 1 && shards_[0]->polling.exchange(true, std::memory_order_acquire)) {
    blocking_.store(false, std::memory_order_release);  // a non-blocking poll is at work
    return false;
  }
  return true;
}

void Reactor::end_blocking() noexcept {
  if (shards_.size() == 1) shards_[0]->polling.store(false, std::memory_order_release);
  blocking_.store(false, std::memory_order_release);
}

int Reactor::poll_blocking(std::int64_t deadline_ns) {
  if (deadline_ns == 0) deadline_ns = 1;  // 0 means "do not block" below; 1 ns is long past
  if (shards_.size() == 1) return poll_shard(*shards_[0], deadline_ns);
  epoll_event events[16];
  int n = epoll_wait_until(root_epfd_, events, 16, deadline_ns);
  int woken = 0;
  for (int i = 0; i < n; ++i) {
    if (events[i].data.u64 == break_tag) {
      drain_break();
      continue;
    }
    Shard& shard = *shards_[events[i].data.u64];
    if (shard.polling.exchange(true, std::memory_order_acquire)) continue;  // polled already
    woken += poll_shard(shard, 0);
    shard.polling.store(false, std::memory_order_release);
  }
  return woken;
}

}  // namespace weft::detail
