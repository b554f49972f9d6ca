// A stream's connection: the fd, the unsent bytes and their flusher task, drain's waiters, and a
// close that never races a read in a system call (see stream_state.hpp).
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <any>
#include <cerrno>
#include <memory>
#include <tuple>
#include <utility>

#include "net/sockaddr.hpp"
#include "net/stream_state.hpp"
#include "weft/errors.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/warnings.hpp"

namespace weft::detail {
namespace {

std::exception_ptr os_error(int error) {
  try {
    raise_os_error(error);
  } catch (...) {
    return std::current_exception();
  }
}

bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK;
}

// Where a receive lands before it is appended to a reader's buffer: one area per thread, not one
// per reader, so an idle connection holds no receive memory. Nothing suspends between the recv
// and the append, so no two reads on one thread overlap in it. Not inline, and called after
// every wait: a fiber may resume on another thread, and a compiler may keep a thread_local's
// address across calls inside one function.
[[gnu::noinline]] char* receive_area(std::size_t size) {
  thread_local std::unique_ptr<char[]> area;
  thread_local std::size_t area_size = 0;
  if (area_size < size) {
    area.reset(new char[size]);  // not value-initialized: no zero fill
    area_size = size;
  }
  return area.get();
}

}  // namespace

Connection::Connection(Socket sock) {
  if (sock.family() == AF_INET || sock.family() == AF_INET6) {
    sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);  // asyncio sets it on every TCP transport
  }
  std::tie(fd_, io_) = sock.release();  // its registration (sock_connect's, say) goes along
}

Connection::~Connection() {
  // The last handle went without close(): close as asyncio's transport __del__ does.
  if (!closed_) {
    io_unregister(io_);
    if (fd_ >= 0) ::close(fd_);
    if (on_closed) on_closed();
  }
}

std::size_t Connection::receive(ReaderState& reader, std::span<char> direct) {
  constexpr std::size_t first_receive = 4 * 1024;
  constexpr std::size_t most_receive = 64 * 1024;
  if (reader.receive_size == 0) reader.receive_size = first_receive;
  // The last receive came back short: the socket was empty then, and the edge of whatever came
  // since is (or will be) in the reactor. Wait for it instead of asking first: the EAGAIN recv
  // a request-response connection would make on every message is saved. Not once the peer
  // closed: its EOF (or an error) may have come with the bytes we read, and no edge follows.
  if (std::exchange(reader.drained, false) && !io_read_hung_up(io_) && !wait_readable(reader)) {
    return 0;
  }
  for (;;) {
    const std::size_t room = direct.empty() ? reader.receive_size : direct.size();
    char* const into = direct.empty() ? receive_area(room) : direct.data();
    int fd;
    {
      std::lock_guard hold(mutex_);
      if (closing_ || closed_) {
        // asyncio's close() stops reading; connection_lost then feeds EOF.
        std::lock_guard hold_reader(reader.mutex);
        reader.eof = true;
        return 0;
      }
      ++reads_in_flight_;
      fd = fd_;
    }
    ssize_t n = ::recv(fd, into, room, 0);
    int error = errno;
    {
      std::unique_lock lock(mutex_);
      if (--reads_in_flight_ == 0 && closed_ && fd_ >= 0) {
        ::close(fd_);  // a close() waited for us
        fd_ = -1;
      }
    }
    // A stream socket's recv returns less than asked only when its receive queue ran empty.
    if (n > 0) reader.drained = static_cast<std::size_t>(n) < room;
    if (n > 0 && !direct.empty()) return static_cast<std::size_t>(n);
    if (n > 0) {
      {
        std::lock_guard hold_reader(reader.mutex);
        reader.buffer.append(into, static_cast<std::size_t>(n));
      }
      if (static_cast<std::size_t>(n) == room && room < most_receive) {
        reader.receive_size = room * 2;  // more was probably waiting: read more at once
      }
      return 0;
    }
    if (n == 0) {
      std::lock_guard hold_reader(reader.mutex);
      reader.eof = true;
      return 0;
    }
    if (error == EINTR) continue;
    if (!would_block(error)) {
      // connection_lost(exc): the reader raises it.
      std::lock_guard hold_reader(reader.mutex);
      reader.error = os_error(error);
      return 0;
    }
    if (!wait_readable(reader)) return 0;
  }
}

bool Connection::wait_readable(ReaderState& reader) {
  {
    std::lock_guard hold(mutex_);
    if (closing_ || closed_) {
      std::lock_guard hold_reader(reader.mutex);
      reader.eof = true;
      return false;
    }
  }
  try {
    io_wait(io_, IoDirection::read);
    return true;
  } catch (const OSError&) {
    // Taken out of the reactor: closed (or being closed) under us, which reads as EOF.
    std::lock_guard hold_reader(reader.mutex);
    reader.eof = true;
    return false;
  }
}

void Connection::write(std::string_view data) {
  std::unique_lock lock(mutex_);
  // asyncio drops writes once the transport is closing or the connection lost.
  if (closing_ || closed_ || lost_) return;
  if (pending() == 0) {
    ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && !would_block(errno)) {
      lost_ = os_error(errno);
      return;
    }
    if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
  }
  if (data.empty()) return;
  if (out_offset_ == out_.size()) {
    out_.clear();
    out_offset_ = 0;
  }
  out_.append(data);
  start_flusher(lock);
}

void Connection::start_flusher(std::unique_lock<FutexLock>& lock) {
  if (flushing_) return;
  flushing_ = true;
  lock.unlock();  // an eager task factory would run the flusher's first step right here
  create_task(coro(&Connection::flush, shared_from_this()));
}

void Connection::flush(std::shared_ptr<Connection> self) {
  for (;;) {
    try {
      io_wait(self->io_, IoDirection::write);
    } catch (const OSError&) {
      // Closed (abort): nothing more to send.
    }
    std::unique_lock lock(self->mutex_);
    while (self->pending() != 0 && !self->closed_) {
      ssize_t n =
          ::send(self->fd_, self->out_.data() + self->out_offset_, self->pending(), MSG_NOSIGNAL);
      if (n > 0) {
        self->out_offset_ += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && would_block(errno)) break;
      self->lost_ = os_error(n < 0 ? errno : EPIPE);
      self->out_.clear();
      self->out_offset_ = 0;
    }
    if (self->closed_) {
      self->out_.clear();
      self->out_offset_ = 0;
    }
    if (self->pending() <= low_water) self->wake_drainers();
    if (self->pending() == 0) {
      self->flushing_ = false;
      if (self->eof_requested_ && !self->closed_) ::shutdown(self->fd_, SHUT_WR);
      if (self->closing_ && !self->closed_) {
        self->close_now(lock);
      }
      return;
    }
  }
}

void Connection::wake_drainers() {
  for (auto& drainer : drainers_) {
    if (!drainer.done()) drainer.set_result();
  }
  drainers_.clear();
}

void Connection::drain(ReaderState* reader) {
  if (reader) {
    std::lock_guard hold(reader->mutex);
    if (reader->error) std::rethrow_exception(reader->error);
  }
  std::unique_lock lock(mutex_);
  auto check_lost = [&] {
    if (lost_) throw ConnectionResetError("Connection lost");
  };
  check_lost();
  if (closing_ || closed_) {
    // asyncio yields once so that a closing transport can finish; closed, it is lost.
    lock.unlock();
    weft::sleep(0.0);
    lock.lock();
    if (closed_) throw ConnectionResetError("Connection lost");
    return;
  }
  if (pending() <= high_water) return;
  Future<void> resumed;
  drainers_.push_back(resumed);
  lock.unlock();
  resumed.await();
  lock.lock();
  check_lost();
}

void Connection::close() {
  std::unique_lock lock(mutex_);
  if (closing_) return;
  closing_ = true;
  // What is buffered goes first (the flusher closes after it), as transport.close() does.
  if (pending() == 0 || lost_) close_now(lock);
}

void Connection::abort() {
  std::unique_lock lock(mutex_);
  closing_ = true;
  if (closed_) return;
  out_.clear();
  out_offset_ = 0;
  // SO_LINGER 0: close() sends a reset, as transport.abort() does.
  linger option{1, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  close_now(lock);
}

void Connection::close_now(std::unique_lock<FutexLock>& lock) {
  closed_ = true;
  io_unregister(io_);  // wakes our reader and flusher: they find the connection closed
  if (reads_in_flight_ == 0) {
    ::close(fd_);
    fd_ = -1;
  }
  wake_drainers();
  if (auto fed = reader.lock()) {
    std::lock_guard hold(fed->mutex);  // the order everywhere: connection, then reader
    fed->eof = true;
  }
  if (!closed_future_.done()) closed_future_.set_result();
  auto notify = std::move(on_closed);
  on_closed = nullptr;
  lock.unlock();
  if (notify) notify();
}

void Connection::write_eof() {
  std::lock_guard hold(mutex_);
  if (closing_ || closed_ || eof_requested_) return;
  eof_requested_ = true;
  if (pending() == 0) ::shutdown(fd_, SHUT_WR);  // else the flusher does, once it is done
}

void Connection::wait_closed() {
  Future<void> closed;
  {
    std::lock_guard hold(mutex_);
    closed = closed_future_;
  }
  closed.await();
}

bool Connection::is_closing() const {
  std::lock_guard hold(mutex_);
  return closing_ || closed_;
}

std::any Connection::extra_info(const std::string& name) const {
  std::lock_guard hold(mutex_);
  if (closed_ || fd_ < 0) return {};
  if (name == "socket") return fd_;
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  auto* raw = reinterpret_cast<sockaddr*>(&storage);
  if (name == "peername" && ::getpeername(fd_, raw, &length) == 0) {
    return net::from_raw(raw, length);
  }
  if (name == "sockname" && ::getsockname(fd_, raw, &length) == 0) {
    return net::from_raw(raw, length);
  }
  return {};
}

}  // namespace weft::detail

namespace weft::detail {

std::string Connection::repr() const {
  std::lock_guard hold(mutex_);
  std::string info = "<Transport";
  if (closed_) return info + " closed>";
  if (closing_) info += " closing";
  info += " fd=" + std::to_string(fd_);
  info += " write=<" + std::string(pending() ? "polling" : "idle") +
          ", bufsize=" + std::to_string(pending()) + ">";
  return info + ">";
}

void Connection::last_writer_gone() noexcept {
  try {
    if (is_closing()) return;
    if (io_loop_closed(io_)) {
      warn({"ResourceWarning", "loop is closed", "", 0});
      return;
    }
    std::string unclosed = "unclosed <StreamWriter transport=" + repr() + ">";
    close();
    warn({"ResourceWarning", std::move(unclosed), "", 0});
  } catch (...) {
    // A warning handler that throws, or no memory for the message: the close is what matters.
  }
}

}  // namespace weft::detail
