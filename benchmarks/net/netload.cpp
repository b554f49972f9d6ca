// bench_netload: the one load generator every echo and HTTP server of the comparison run is
// driven by (weft, Asio, Go, Tokio), so that the servers differ and the client does not. Plain
// epoll on one thread, loopback only, bounded in count and time.
//
//   bench_netload --port P --workload echo
//
// Opens the workload's connections to 127.0.0.1:P, does one unmeasured round trip on each (so
// every connection is accepted and its handler running before the clock starts), then runs the
// measured round trips -- every connection keeps exactly one message in flight: write it, read
// the whole reply and check it (echo: every byte; HTTP: the status, Content-Length and body),
// a byte more than the reply is an error -- then half-closes each connection and expects
// end-of-file. Prints one line and exits 0:
//
//   ok <round trips> <seconds> <p50 ns> <p99 ns>
//
// or "error <why>" and exits 1. The servers measure their own CPU time around this process.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "net/workloads.hpp"

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void fail(const std::string& why) {
  throw std::runtime_error(why);
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

// Message r of connection c is the pattern from offset (c * 31 + r) % 251: every message differs
// from its neighbours, so a byte echoed on the wrong connection or in the wrong round is seen.
struct Pattern {
  std::vector<char> bytes;
  explicit Pattern(std::size_t size) : bytes(size + 251) {
    for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 7 + 3);
  }
  const char* message(std::size_t c, std::size_t r) const { return &bytes[(c * 31 + r) % 251]; }
};

// One protocol's message and reply check. reply_length: 0 while `got` holds less than the whole
// reply, else the reply's length (the caller then fails if `got` holds more); fails on a wrong
// reply.
class Exchange {
 public:
  explicit Exchange(const cmp::net::EchoLoad& load) : load_(load), pattern_(load.size) {}

  std::string_view message(std::size_t c, std::size_t r) const {
    if (load_.protocol == cmp::net::Protocol::http) return cmp::net::kHttpRequest;
    return {pattern_.message(c, r), load_.size};
  }

  std::size_t reply_length(std::string_view got, std::size_t c, std::size_t r) const {
    if (load_.protocol == cmp::net::Protocol::http) return http_reply_length(got, c, r);
    if (got.size() < load_.size) return 0;
    if (std::memcmp(got.data(), pattern_.message(c, r), load_.size) != 0) {
      fail(where(c, r) + "the reply differs from the message sent");
    }
    return load_.size;
  }

 private:
  static std::string where(std::size_t c, std::size_t r) {
    return "connection " + std::to_string(c) + ", round " + std::to_string(r) + ": ";
  }

  // "HTTP/1.1 200 ..." with a Content-Length header (any case) and kHttpBody as the body.
  static std::size_t http_reply_length(std::string_view got, std::size_t c, std::size_t r) {
    const std::size_t end = got.find("\r\n\r\n");
    if (end == std::string_view::npos) {
      if (got.size() > 8192) fail(where(c, r) + "no end of headers in 8 KiB");
      return 0;
    }
    std::string head(got.substr(0, end + 2));
    for (char& ch : head) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (head.rfind("http/1.1 200 ", 0) != 0) {
      fail(where(c, r) + "not a 200 response: " + std::string(got.substr(0, got.find('\r'))));
    }
    constexpr std::string_view kField = "\r\ncontent-length:";
    const std::size_t field = head.find(kField);
    if (field == std::string::npos) fail(where(c, r) + "no Content-Length");
    const std::size_t length = std::strtoul(head.c_str() + field + kField.size(), nullptr, 10);
    if (length != cmp::net::kHttpBody.size()) fail(where(c, r) + "wrong Content-Length");
    if (got.size() < end + 4 + length) return 0;
    if (got.substr(end + 4, length) != cmp::net::kHttpBody) fail(where(c, r) + "wrong body");
    return end + 4 + length;
  }

  const cmp::net::EchoLoad& load_;
  Pattern pattern_;
};

struct Connection {
  int fd = -1;
  std::size_t round = 0;  // measured round trips done
  std::string inbox;      // what has come of the current reply
  Clock::time_point sent_at;
};

// Reads what is there into conn.inbox (false: nothing yet). Fails on end-of-file or an error.
bool receive(Connection& conn, std::size_t c) {
  char buffer[4096];
  const ssize_t n = recv(conn.fd, buffer, sizeof buffer, MSG_DONTWAIT);
  if (n == 0) fail("connection " + std::to_string(c) + " closed by the server");
  if (n < 0) {
    if (errno == EAGAIN) return false;
    fail(errno_text("recv"));
  }
  conn.inbox.append(buffer, static_cast<std::size_t>(n));
  return true;
}

// Whether conn.inbox holds the whole reply to round r (and then empties it).
bool reply_done(Connection& conn, const Exchange& exchange, std::size_t c, std::size_t r) {
  const std::size_t length = exchange.reply_length(conn.inbox, c, r);
  if (length == 0) return false;
  if (conn.inbox.size() > length) {
    fail("connection " + std::to_string(c) + ": the server sent more than one reply");
  }
  conn.inbox.clear();
  return true;
}

int connect_to(std::uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(errno_text("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    fail(errno_text("connect"));
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// Blocking helpers for the unmeasured parts: a send of a whole message, a wait for readability.
void send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = send(fd, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EAGAIN) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 1000);
      continue;
    }
    if (n < 0) fail(errno_text("send"));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void wait_readable(int fd, Clock::time_point deadline) {
  pollfd p{fd, POLLIN, 0};
  while (poll(&p, 1, 100) == 0) {
    if (Clock::now() > deadline) fail("timed out waiting for the server");
  }
}

// One round trip per connection, one connection at a time, outside the clock.
void warm_up(std::vector<Connection>& conns, const Exchange& exchange, Clock::time_point deadline) {
  constexpr std::size_t kWarmRound = 1000;  // a message the measured rounds do not start with
  for (std::size_t c = 0; c < conns.size(); ++c) {
    const std::string_view message = exchange.message(c, kWarmRound);
    send_all(conns[c].fd, message.data(), message.size());
    do {
      wait_readable(conns[c].fd, deadline);
      receive(conns[c], c);
    } while (!reply_done(conns[c], exchange, c, kWarmRound));
  }
}

struct Result {
  std::size_t round_trips = 0;
  double seconds = 0;
  std::vector<std::uint32_t> latencies_ns;
};

Result measure(std::vector<Connection>& conns, const Exchange& exchange,
               const cmp::net::EchoLoad& load, Clock::time_point deadline) {
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) fail(errno_text("epoll_create1"));
  for (std::size_t c = 0; c < conns.size(); ++c) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = c;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, conns[c].fd, &ev) != 0) fail(errno_text("epoll_ctl"));
  }
  Result result;
  result.latencies_ns.reserve(conns.size() * load.rounds);
  std::size_t active = conns.size();
  const auto start = Clock::now();
  for (std::size_t c = 0; c < conns.size(); ++c) {
    conns[c].sent_at = Clock::now();
    const std::string_view message = exchange.message(c, 0);
    send_all(conns[c].fd, message.data(), message.size());
  }
  std::vector<epoll_event> events(std::min<std::size_t>(conns.size(), 256));
  while (active > 0) {
    const int ready = epoll_wait(epfd, events.data(), static_cast<int>(events.size()), 100);
    if (ready < 0 && errno != EINTR) fail(errno_text("epoll_wait"));
    if (ready <= 0 && Clock::now() > deadline) {
      fail("timed out: " + std::to_string(active) + " connections unfinished");
    }
    for (int i = 0; i < ready; ++i) {
      const std::size_t c = events[i].data.u64;
      Connection& conn = conns[c];
      if (!receive(conn, c) || !reply_done(conn, exchange, c, conn.round)) continue;
      const auto now = Clock::now();
      result.latencies_ns.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - conn.sent_at).count(),
          UINT32_MAX)));
      if (++conn.round == load.rounds) {
        epoll_ctl(epfd, EPOLL_CTL_DEL, conn.fd, nullptr);
        --active;
        continue;
      }
      conn.sent_at = now;
      const std::string_view message = exchange.message(c, conn.round);
      send_all(conn.fd, message.data(), message.size());
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.round_trips = result.latencies_ns.size();
  close(epfd);
  return result;
}

// Half-closes every connection and expects end-of-file from the server, nothing more.
void finish(std::vector<Connection>& conns, Clock::time_point deadline) {
  for (auto& conn : conns) shutdown(conn.fd, SHUT_WR);
  for (std::size_t c = 0; c < conns.size(); ++c) {
    char extra;
    wait_readable(conns[c].fd, deadline);
    const ssize_t n = recv(conns[c].fd, &extra, 1, MSG_DONTWAIT);
    if (n > 0) fail("connection " + std::to_string(c) + ": the server sent more than it got");
    close(conns[c].fd);
  }
}

std::uint32_t percentile(std::vector<std::uint32_t>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

int run(int argc, char** argv) {
  long port = 0;
  std::string workload;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--port") port = std::strtol(argv[i + 1], nullptr, 10);
    if (flag == "--workload") workload = argv[i + 1];
  }
  const cmp::net::EchoLoad* load = cmp::net::find_echo_load(workload);
  if (load == nullptr || port <= 0 || port > 65535) {
    fail("usage: bench_netload --port P --workload NAME (a workload of net/workloads.hpp)");
  }
  const auto deadline = Clock::now() + cmp::net::kTimeLimit;
  const Exchange exchange(*load);
  std::vector<Connection> conns(load->connections);
  for (auto& conn : conns) conn.fd = connect_to(static_cast<std::uint16_t>(port));
  warm_up(conns, exchange, deadline);
  Result result = measure(conns, exchange, *load, deadline);
  finish(conns, deadline);
  if (result.round_trips != load->connections * load->rounds) fail("round trips missing");
  const auto p50 = percentile(result.latencies_ns, 0.50);
  const auto p99 = percentile(result.latencies_ns, 0.99);
  std::printf("ok %zu %.9f %u %u\n", result.round_trips, result.seconds, p50, p99);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::printf("error %s\n", e.what());
    return 1;
  }
}
