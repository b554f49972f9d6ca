// Internal: how the asyncio layer's sockets wait on the runtime's reactor (architecture.md §15).
// The pattern is asyncio's: try the system call; on EAGAIN, io_wait() for the direction, then
// try again (a wake-up means "may be ready", never "is ready").
#pragma once

#include <cstdint>
#include <memory>

namespace weft::detail {

class Reactor;

enum class IoDirection : unsigned { read = 0, write = 1 };

// An fd registered with a runtime's reactor. Holds the reactor, so that unregistering works
// even after the runtime has gone.
struct IoHandle {
  std::shared_ptr<Reactor> reactor;
  int fd = -1;
  std::uint32_t generation = 0;
  bool owns_registration = false;  // false: the fd was registered already by someone else
  explicit operator bool() const noexcept { return reactor != nullptr; }
};

// Registers `fd` (non-blocking, the caller's) with the running runtime's reactor. RuntimeError
// outside a runtime; OSError if epoll refuses the fd.
IoHandle io_register(int fd);
// Suspends the running task until `direction` of the fd may be ready. Cancellable as a sleep is
// (Task.cancel, wait_for, timeout). OSError(EBADF) if the fd is unregistered meanwhile (closed);
// RuntimeError if another task waits on the same direction of the same fd.
void io_wait(const IoHandle& handle, IoDirection direction);
// Whether a poll has seen the fd's peer close, or the socket fail (EPOLLRDHUP, EPOLLHUP,
// EPOLLERR), in this registration. A stream reader whose recv came back short (so the socket
// was empty) waits for the next edge before it asks again -- unless this says that EOF or an
// error may be all that is left, which comes with no edge of its own.
bool io_read_hung_up(const IoHandle& handle) noexcept;
// Takes the fd out of the reactor (before the caller closes it) and wakes its waiters, whose
// io_wait raises OSError(EBADF). Idempotent; any thread.
void io_unregister(const IoHandle& handle) noexcept;
// Whether the runtime the fd was registered with has shut down (asyncio's loop.is_closed()).
bool io_loop_closed(const IoHandle& handle) noexcept;

}  // namespace weft::detail
