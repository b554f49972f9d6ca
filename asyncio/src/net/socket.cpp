// weft::Socket and SocketAddress: Python's socket.socket as asyncio's sock_* methods use it.
#include "weft/socket.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "net/sockaddr.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/errors.hpp"

namespace weft {
namespace net {

std::optional<RawAddress> to_raw(const SocketAddress& address) {
  RawAddress raw;
  if (address.family == AF_UNIX) {
    auto* un = reinterpret_cast<sockaddr_un*>(&raw.storage);
    if (address.path.size() >= sizeof un->sun_path) {
      throw ValueError("AF_UNIX path too long: " + address.path);
    }
    un->sun_family = AF_UNIX;
    std::memcpy(un->sun_path, address.path.data(), address.path.size());
    raw.length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + address.path.size() + 1);
    return raw;
  }
  std::string host = address.host.empty() ? std::string("0.0.0.0") : address.host;
  if (address.family != AF_INET6) {
    auto* in = reinterpret_cast<sockaddr_in*>(&raw.storage);
    if (::inet_pton(AF_INET, host.c_str(), &in->sin_addr) == 1) {
      in->sin_family = AF_INET;
      in->sin_port = htons(address.port);
      raw.length = sizeof(sockaddr_in);
      return raw;
    }
  }
  if (address.family != AF_INET) {
    if (address.host.empty()) host = "::";
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&raw.storage);
    if (::inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr) == 1) {
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons(address.port);
      raw.length = sizeof(sockaddr_in6);
      return raw;
    }
  }
  return std::nullopt;
}

SocketAddress from_raw(const sockaddr* raw, socklen_t length) {
  SocketAddress address;
  address.family = raw->sa_family;
  char text[INET6_ADDRSTRLEN] = {};
  if (raw->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(raw);
    ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    address.host = text;
    address.port = ntohs(in->sin_port);
  } else if (raw->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(raw);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    address.host = text;
    address.port = ntohs(in6->sin6_port);
  } else if (raw->sa_family == AF_UNIX) {
    const auto* un = reinterpret_cast<const sockaddr_un*>(raw);
    std::size_t max =
        length > offsetof(sockaddr_un, sun_path) ? length - offsetof(sockaddr_un, sun_path) : 0;
    address.path.assign(un->sun_path, ::strnlen(un->sun_path, max));
  }
  return address;
}

}  // namespace net

namespace {

void check(int result) {
  if (result < 0) raise_os_error(errno);
}

void make_non_blocking(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  check(flags);
  check(::fcntl(fd, F_SETFL, flags | O_NONBLOCK));
}

}  // namespace

SocketAddress SocketAddress::unix_path(std::string path) {
  SocketAddress address;
  address.family = AF_UNIX;
  address.path = std::move(path);
  return address;
}

std::string SocketAddress::repr() const {
  if (family == AF_UNIX) return "'" + path + "'";
  std::string port_text = std::to_string(port);
  // Python's AF_INET6 tuple also has flowinfo and scope_id.
  if (family == AF_INET6 || host.find(':') != std::string::npos) {
    return "('" + host + "', " + port_text + ", 0, 0)";
  }
  return "('" + host + "', " + port_text + ")";
}

namespace {

// Inside a runtime a socket is registered at once: two tasks using it concurrently (a reader and
// a writer) would otherwise race to register it on their first waits.
detail::IoHandle register_if_running(int fd) {
  return detail::running_scheduler_or_null() ? detail::io_register(fd) : detail::IoHandle{};
}

}  // namespace

Socket::Socket(int family, int type, int protocol) : family_(family) {
  fd_ = ::socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  check(fd_);
  try {
    io_ = register_if_running(fd_);
  } catch (...) {
    ::close(fd_);
    throw;
  }
}

Socket Socket::adopt(int fd) {
  Socket sock;
  make_non_blocking(fd);
  sock.fd_ = fd;
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    sock.family_ = storage.ss_family;
  }
  sock.io_ = register_if_running(fd);
  return sock;
}

Socket::Socket(Socket&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      family_(other.family_),
      io_(std::exchange(other.io_, {})) {}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    family_ = other.family_;
    io_ = std::exchange(other.io_, {});
  }
  return *this;
}

void Socket::setsockopt(int level, int option, int value) {
  check(::setsockopt(fd_, level, option, &value, sizeof value));
}

int Socket::getsockopt(int level, int option) const {
  int value = 0;
  socklen_t length = sizeof value;
  check(::getsockopt(fd_, level, option, &value, &length));
  return value;
}

int Socket::type() const {
  return getsockopt(SOL_SOCKET, SO_TYPE);
}

std::string Socket::repr() const {
  if (fd_ < 0) return "<socket.socket [closed] fd=-1, family=" + std::to_string(family_) + ">";
  int type = 0;
  int protocol = 0;
  socklen_t length = sizeof type;
  ::getsockopt(fd_, SOL_SOCKET, SO_TYPE, &type, &length);
  length = sizeof protocol;
  ::getsockopt(fd_, SOL_SOCKET, SO_PROTOCOL, &protocol, &length);
  std::string out = "<socket.socket fd=" + std::to_string(fd_) +
                    ", family=" + std::to_string(family_) + ", type=" + std::to_string(type) +
                    ", proto=" + std::to_string(protocol);
  sockaddr_storage storage{};
  length = sizeof storage;
  // As Python: laddr whenever getsockname() gives something (an unbound Unix socket gives '').
  if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length) == 0) {
    SocketAddress local = net::from_raw(reinterpret_cast<sockaddr*>(&storage), length);
    if (family_ != AF_UNIX || !local.path.empty()) out += ", laddr=" + local.repr();
  }
  return out + ">";
}

void Socket::bind(const SocketAddress& address) {
  SocketAddress target = address;
  if (target.family == AF_UNSPEC) target.family = family_;
  auto raw = net::to_raw(target);
  if (!raw) throw ValueError("bind() needs a numeric address, not " + address.repr());
  check(::bind(fd_, raw->get(), raw->length));
}

void Socket::listen(int backlog) {
  check(::listen(fd_, backlog));
}

SocketAddress Socket::getsockname() const {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  check(::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length));
  return net::from_raw(reinterpret_cast<sockaddr*>(&storage), length);
}

SocketAddress Socket::getpeername() const {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  check(::getpeername(fd_, reinterpret_cast<sockaddr*>(&storage), &length));
  return net::from_raw(reinterpret_cast<sockaddr*>(&storage), length);
}

void Socket::shutdown(int how) {
  check(::shutdown(fd_, how));
}

void Socket::close() noexcept {
  if (fd_ < 0) return;
  // Out of the reactor first: the waiters wake with EBADF, and the number may be reused at once.
  detail::io_unregister(io_);
  io_ = {};
  ::close(std::exchange(fd_, -1));
}

int Socket::detach() noexcept {
  detail::io_unregister(io_);
  io_ = {};
  return std::exchange(fd_, -1);
}

std::pair<int, detail::IoHandle> Socket::release() {
  io();
  return {std::exchange(fd_, -1), std::exchange(io_, {})};
}

const detail::IoHandle& Socket::io() {
  if (fd_ < 0) raise_os_error(EBADF);
  if (!io_) io_ = detail::io_register(fd_);
  return io_;
}

}  // namespace weft
