// The fiber's side of an I/O wait (architecture.md §15): suspend, then publish. The task yields
// an AwaitIo and switches away; its worker, off the task's stack, arms the wake-up token and
// calls publish_waiter, which puts the waiter in the fd's readiness word. The poller (an event),
// remove() (the fd closed) and cancel() then race for the token, as a timer and cancel() race
// for a sleep's.
#include <cerrno>
#include <string>

#include "io/reactor.hpp"
#include "sched/scheduler.hpp"
#include "weft/coroutine.hpp"
#include "weft/detail/io_wait.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/errors.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WEFT_IO_RELAX() _mm_pause()
#else
#define WEFT_IO_RELAX() std::this_thread::yield()
#endif

namespace weft::detail {
namespace {

struct WaitNode : IoPublisher {
  IoWaiter waiter;
  IoRecord* record;
  std::atomic<std::uintptr_t>* word;
  std::uint32_t generation;
  bool busy = false;  // another task waits on this direction: woken at once, to raise
};

enum class Displace { took_its_place, second_waiter, we_were_taken, it_left };

// Puts `self` in `word` in place of `other`, the waiter of another task. Taking it out first pins
// it (its fiber, unable to take itself out, waits for `delivered`), so its fields can be read;
// and a waiter taken out is never put back: whoever takes a waiter out of its word wakes it and
// then stores its `delivered`, once -- the rule the poller and remove() keep too. If its wake-up
// was claimed already (its task was cancelled and has not run yet), it is on its way out and we
// take its place, as asyncio's add_writer replaces a cancelled sock_sendall's callback. If not,
// it is a live waiter and we are a second one: it is woken for nothing (its caller tries its
// system call again and waits anew, finding us gone) and we leave the word empty, to raise.
Displace displace(std::atomic<std::uintptr_t>& word, std::uintptr_t other, std::uintptr_t self) {
  // seq_cst: as publish_waiter's own CAS (it publishes us, and pairs with remove()).
  if (!word.compare_exchange_strong(other, self, std::memory_order_seq_cst)) {
    return Displace::it_left;  // it left meanwhile: the caller looks again
  }
  auto* displaced = reinterpret_cast<IoWaiter*>(other);
  const bool was_live = displaced->task->wake_up(displaced->token);
  // Release: its fiber may go on once it sees this; nothing here touches it afterwards.
  displaced->delivered.store(true, std::memory_order_release);
  if (!was_live) return Displace::took_its_place;
  std::uintptr_t expected = self;
  if (word.compare_exchange_strong(expected, Reactor::empty, std::memory_order_acq_rel)) {
    return Displace::second_waiter;
  }
  return Displace::we_were_taken;  // by a poller or remove(), which wakes and delivers us
}

// Runs on the worker, after the switch, with the token armed. Never throws.
void publish_waiter(IoPublisher& publisher, TaskCore& task, std::uint64_t token) noexcept {
  auto& node = static_cast<WaitNode&>(publisher);
  node.waiter.task = &task;
  node.waiter.token = token;
  auto& word = *node.word;
  const auto self = reinterpret_cast<std::uintptr_t>(&node.waiter);
  // Relaxed: published with the word's CAS below, and read by none before.
  node.waiter.delivered.store(false, std::memory_order_relaxed);
  std::uintptr_t current = word.load(std::memory_order_acquire);
  for (;;) {
    if (current == Reactor::ready) {
      // The edge came between the caller's syscall and now: take it and go straight back. The
      // task is still running (this is its step's end), so fire() only marks it notified.
      if (word.compare_exchange_weak(current, Reactor::empty, std::memory_order_acquire)) break;
      continue;
    }
    if (current != Reactor::empty) {
      // Another task's waiter: see displace.
      switch (displace(word, current, self)) {
        case Displace::took_its_place:
          break;
        case Displace::we_were_taken:
          node.busy = true;  // our taker wakes and delivers us
          return;
        case Displace::second_waiter:
          node.busy = true;
          node.waiter.delivered.store(true, std::memory_order_relaxed);  // nobody else has it
          task.fire(token);
          return;
        case Displace::it_left:
          current = word.load(std::memory_order_acquire);
          continue;
      }
      // In its place: the same re-check as after our own CAS below.
      if (node.record->generation.load(std::memory_order_seq_cst) == node.generation) return;
      std::uintptr_t expected = self;
      if (!word.compare_exchange_strong(expected, Reactor::empty, std::memory_order_acq_rel)) {
        return;
      }
      break;
    }
    // seq_cst: release the waiter's fields to the poller, and the Dekker pair with remove()
    // (its generation bump, then its exchange of this word) for the load below.
    if (word.compare_exchange_weak(current, self, std::memory_order_seq_cst)) {
      if (node.record->generation.load(std::memory_order_seq_cst) == node.generation) return;
      // Removed meanwhile: take ourselves back out, unless remove() already took us (then it
      // wakes us itself).
      std::uintptr_t expected = self;
      if (!word.compare_exchange_strong(expected, Reactor::empty, std::memory_order_acq_rel)) {
        return;
      }
      break;
    }
  }
  node.waiter.delivered.store(true, std::memory_order_relaxed);  // nobody else holds it
  task.fire(token);
}

// Whatever woke the task (an event, remove(), cancel()), the waiter must be out of the word and
// no wake-up call in flight before the fiber's stack moves on.
struct Withdraw {
  Reactor& reactor;
  WaitNode& node;
  ~Withdraw() {
    std::uintptr_t expected = reinterpret_cast<std::uintptr_t>(&node.waiter);
    if (!node.word->compare_exchange_strong(expected, Reactor::empty, std::memory_order_acq_rel)) {
      // Taken out by a poller or remove(): wait for its fire() call to end (a few instructions).
      while (!node.waiter.delivered.load(std::memory_order_acquire)) WEFT_IO_RELAX();
    }
    reactor.count_waiter(-1);
  }
};

[[noreturn]] void raise_closed() {
  raise_os_error(EBADF);
}

}  // namespace

IoHandle io_register(int fd) {
  Scheduler& scheduler = running_scheduler("weft I/O");
  bool added = false;
  std::uint32_t generation = scheduler.reactor().add(fd, added);
  return IoHandle{scheduler.reactor_ptr(), fd, generation, added};
}

void io_wait(const IoHandle& handle, IoDirection direction) {
  if (!current_task_core()) {
    throw RuntimeError("no running event loop: weft I/O suspends a task; call it from inside one");
  }
  Reactor& reactor = *handle.reactor;
  IoRecord& record = reactor.record(handle.fd);
  if (record.generation.load(std::memory_order_acquire) != handle.generation) raise_closed();
  WaitNode node{{&publish_waiter},
                {},
                &record,
                &record.words[static_cast<unsigned>(direction)],
                handle.generation};
  // An edge since the caller's syscall: take it, and let the caller try again at once.
  std::uintptr_t seen = Reactor::ready;
  if (node.word->compare_exchange_strong(seen, Reactor::empty, std::memory_order_acquire)) return;
  {
    // Counted before the yield: the worker that publishes us will look for a poller when it
    // runs dry (architecture.md §15), and must see someone waits.
    reactor.count_waiter(1);
    Withdraw withdraw{reactor, node};
    suspend(AwaitIo{&node});
  }
  if (node.busy) {
    throw RuntimeError(std::string(direction == IoDirection::read ? "read" : "write") +
                       " wait on file descriptor " + std::to_string(handle.fd) +
                       " while another task is already waiting on it");
  }
  if (record.generation.load(std::memory_order_acquire) != handle.generation) raise_closed();
  // Woken by an event: take the readiness it left, since the caller's retry sees all that it
  // signalled; a later edge sets it again.
  std::uintptr_t expected = Reactor::ready;
  node.word->compare_exchange_strong(expected, Reactor::empty, std::memory_order_acquire);
}

void io_unregister(const IoHandle& handle) noexcept {
  if (handle && handle.owns_registration) handle.reactor->remove(handle.fd, handle.generation);
}

bool io_read_hung_up(const IoHandle& handle) noexcept {
  if (!handle) return true;
  IoRecord* record = handle.reactor->find(handle.fd);
  // Acquire: pairs with dispatch's store. An fd removed or reused: let the caller ask the kernel.
  return !record || record->generation.load(std::memory_order_acquire) != handle.generation ||
         record->read_hung_up.load(std::memory_order_acquire);
}

bool io_loop_closed(const IoHandle& handle) noexcept {
  return handle && handle.reactor->loop_closed();
}

}  // namespace weft::detail
