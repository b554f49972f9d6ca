// Shared helpers for the networking tests: the worker counts they run on, and a blocking test
// server on a thread of its own (CPython's test_utils.run_test_server), so that what is tested
// talks to something that does not run on weft.
#pragma once

#include <weft/weft.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "../../support/test_support.hpp"

namespace weft_net_test {

using weft_test_support::kSanitized;

inline std::vector<unsigned> port_workers() {
  return {1u, 2u};
}

// A minimal HTTP/1.0 server on a thread: answers "GET" with a short page and "POST" with the
// body it was sent (CPython's run_test_server answers /loop the same way). One connection at
// a time; the peer closes after reading.
class TestHttpServer {
 public:
  explicit TestHttpServer(bool unix_socket = false) {
    if (unix_socket) {
      path_ = "/tmp/weft-test-" + std::to_string(::getpid()) + "-" +
              std::to_string(counter().fetch_add(1)) + ".sock";
      ::unlink(path_.c_str());
      fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
      this->address = weft::SocketAddress::unix_path(path_);
    } else {
      fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
      socklen_t length = sizeof address;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
      this->address = weft::SocketAddress("127.0.0.1", ntohs(address.sin_port));
    }
    ::listen(fd_, 16);
    thread_ = std::thread([this] { serve(); });
  }
  ~TestHttpServer() {
    stop_.store(true);
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  weft::SocketAddress address;

 private:
  static std::atomic<int>& counter() {
    static std::atomic<int> n{0};
    return n;
  }
  void serve() {
    while (!stop_.load()) {
      int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      std::string request;
      char buffer[65536];
      while (request.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::recv(conn, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
      }
      std::string body = "Test message";
      if (request.rfind("POST", 0) == 0) {
        std::size_t at = request.find("Content-Length: ");
        std::size_t length = at == std::string::npos ? 0 : std::stoul(request.substr(at + 16));
        std::size_t head = request.find("\r\n\r\n") + 4;
        body = request.substr(head);
        while (body.size() < length) {
          ssize_t n = ::recv(conn, buffer, sizeof buffer, 0);
          if (n <= 0) break;
          body.append(buffer, static_cast<std::size_t>(n));
        }
      }
      std::string response =
          "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
      std::size_t sent = 0;
      while (sent < response.size()) {
        ssize_t n = ::send(conn, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
      }
      ::shutdown(conn, SHUT_WR);
      while (::recv(conn, buffer, sizeof buffer, 0) > 0) {
      }
      ::close(conn);
    }
  }
  int fd_ = -1;
  std::string path_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace weft_net_test
