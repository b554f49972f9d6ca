// weft::Socket -- Python's socket.socket, as asyncio's loop.sock_* methods take it: a
// non-blocking socket that the running runtime's reactor waits on. Move-only; closes its fd.
//
//   weft::Socket listener(AF_INET);                       # socket.socket()
//   listener.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
//   listener.bind({"127.0.0.1", 0});                      # sock.bind(('127.0.0.1', 0))
//   listener.listen();
//   auto [conn, peer] = weft::sock_accept(listener);      # await loop.sock_accept(sock)
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <utility>

#include "weft/detail/io_wait.hpp"

namespace weft {

// A socket address, as Python writes it: (host, port) for AF_INET / AF_INET6, a path for
// AF_UNIX. repr() is Python's: "('127.0.0.1', 8888)", "('::1', 8888, 0, 0)", "'/tmp/s'".
struct SocketAddress {
  int family = AF_UNSPEC;  // AF_UNSPEC: decided by the host (numeric IPv4 or IPv6)
  std::string host;        // numeric, or a name resolved with getaddrinfo (sock_connect)
  std::uint16_t port = 0;
  std::string path;  // AF_UNIX
  SocketAddress() = default;
  SocketAddress(std::string host_, std::uint16_t port_) : host(std::move(host_)), port(port_) {}
  static SocketAddress unix_path(std::string path);
  std::string repr() const;
  friend bool operator==(const SocketAddress&, const SocketAddress&) = default;
};

class Socket {
 public:
  Socket() = default;  // no socket: fileno() == -1
  // socket.socket(family, type, proto), non-blocking and close-on-exec. OSError on failure.
  explicit Socket(int family, int type = SOCK_STREAM, int protocol = 0);
  // Takes ownership of `fd` (made non-blocking).
  static Socket adopt(int fd);
  Socket(Socket&& other) noexcept;
  Socket& operator=(Socket&& other) noexcept;
  ~Socket() { close(); }

  int fileno() const noexcept { return fd_; }
  int family() const noexcept { return family_; }
  int type() const;  // SOCK_STREAM, SOCK_DGRAM, ... (getsockopt SO_TYPE)
  // Python's: "<socket.socket fd=7, family=2, type=1, proto=6, laddr=('127.0.0.1', 8888)>".
  std::string repr() const;
  void setsockopt(int level, int option, int value);
  int getsockopt(int level, int option) const;
  void bind(const SocketAddress& address);  // numeric hosts only (as a bound address is)
  void listen(int backlog = 100);
  SocketAddress getsockname() const;
  SocketAddress getpeername() const;
  void shutdown(int how);  // SHUT_RD / SHUT_WR / SHUT_RDWR
  // Wakes the tasks waiting on it (their call raises OSError EBADF), then closes. Idempotent.
  void close() noexcept;
  int detach() noexcept;  // gives up the fd without closing it

  // The reactor registration, made at creation inside a runtime, else on the first wait
  // (machinery for sockets.hpp).
  const detail::IoHandle& io();
  // Machinery for streams: hands the fd over with its registration (made now if need be); the
  // Socket is left empty.
  std::pair<int, detail::IoHandle> release();

 private:
  int fd_ = -1;
  int family_ = AF_UNSPEC;
  detail::IoHandle io_;
};

}  // namespace weft
