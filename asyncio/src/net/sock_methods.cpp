// asyncio's loop.sock_* methods: try the system call, wait on the reactor only on EAGAIN
// (weft/detail/io_wait.hpp), try again.
#include <netinet/in.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "net/resolve.hpp"
#include "weft/errors.hpp"
#include "weft/sockets.hpp"

namespace weft {
namespace {

using detail::IoDirection;

bool would_block(int error) {
  return error == EAGAIN || error == EWOULDBLOCK;
}

}  // namespace

std::size_t sock_recv_into(Socket& sock, std::span<char> buffer) {
  for (;;) {
    ssize_t n = ::recv(sock.fileno(), buffer.data(), buffer.size(), 0);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (!would_block(errno)) raise_os_error(errno);
    detail::io_wait(sock.io(), IoDirection::read);
  }
}

std::string sock_recv(Socket& sock, std::size_t nbytes) {
  std::string data(nbytes, '\0');
  data.resize(sock_recv_into(sock, std::span<char>(data.data(), data.size())));
  return data;
}

void sock_sendall(Socket& sock, std::string_view data) {
  while (!data.empty()) {
    // MSG_NOSIGNAL: a peer gone is BrokenPipeError here, not SIGPIPE for the process.
    ssize_t n = ::send(sock.fileno(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (!would_block(errno)) raise_os_error(errno);
    detail::io_wait(sock.io(), IoDirection::write);
  }
}

std::pair<Socket, SocketAddress> sock_accept(Socket& sock) {
  for (;;) {
    sockaddr_storage storage{};
    socklen_t length = sizeof storage;
    int fd = ::accept4(sock.fileno(), reinterpret_cast<sockaddr*>(&storage), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      return {Socket::adopt(fd), net::from_raw(reinterpret_cast<sockaddr*>(&storage), length)};
    }
    // A connection reset before we took it is not the listener's error: take the next.
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (!would_block(errno)) raise_os_error(errno);
    detail::io_wait(sock.io(), IoDirection::read);
  }
}

void sock_connect(Socket& sock, const SocketAddress& address) {
  SocketAddress target = address;
  if (target.family == AF_UNSPEC) target.family = sock.family();
  auto candidates = net::resolve(target);
  if (candidates.empty()) throw OSError(EINVAL, "no address for " + address.repr());
  const net::RawAddress& raw = candidates.front().address;
  // asyncio's message names the address as given, resolved: "Connect call failed (host, port)".
  const std::string failed = "Connect call failed " + net::from_raw(raw.get(), raw.length).repr();
  if (::connect(sock.fileno(), raw.get(), raw.length) == 0) return;
  if (errno != EINPROGRESS && errno != EINTR) raise_os_error(errno, failed);
  for (;;) {
    detail::io_wait(sock.io(), IoDirection::write);
    int error = sock.getsockopt(SOL_SOCKET, SO_ERROR);
    if (error == 0) {
      // Writable with no error: connected -- unless it is still in progress (spurious wake-up).
      sockaddr_storage peer{};
      socklen_t length = sizeof peer;
      if (::getpeername(sock.fileno(), reinterpret_cast<sockaddr*>(&peer), &length) == 0) return;
      if (errno != ENOTCONN) raise_os_error(errno, failed);
      continue;
    }
    if (error == EINPROGRESS) continue;
    raise_os_error(error, failed);
  }
}

std::size_t sock_sendfile(Socket& sock, int file_fd, std::size_t offset,
                          std::optional<std::size_t> count) {
  std::size_t sent = 0;
  off_t position = static_cast<off_t>(offset);
  for (;;) {
    std::size_t chunk = count ? *count - sent : std::size_t{1} << 30;
    if (chunk == 0) break;
    ssize_t n = ::sendfile(sock.fileno(), file_fd, &position, chunk);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n == 0) break;  // end of file
    if (errno == EINTR) continue;
    if (!would_block(errno)) raise_os_error(errno);
    detail::io_wait(sock.io(), IoDirection::write);
  }
  // As asyncio's: the file's position ends after what was sent.
  ::lseek(file_fd, static_cast<off_t>(offset + sent), SEEK_SET);
  return sent;
}

}  // namespace weft
