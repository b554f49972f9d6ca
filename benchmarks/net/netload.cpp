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
//
// The other modes (net/workloads.hpp, Mode):
//   stream      each connection writes its messages back to back (writev, non-blocking; at most
//               64 KiB unanswered) and reads the echo as it comes, checking every byte; latency
//               is from a message's last byte written to its last byte echoed. <round trips>
//               counts messages.
//   idle        the connections are opened (in batches of 500, each batch doing one round trip
//               per connection), then left idle for kIdleSeconds; the server's CPU time over that
//               (summed from /proc/<server>/task/*/schedstat, in ns) and its RSS growth since
//               this process started (/proc/<server>/status) are printed as extras after the
//               five fields: "idle_cpu_ms_per_s=X rss_kib_per_conn=Y". <seconds> is the idle time.
//   syscalls    ping-pong, the server's (this process's parent's) system calls counted for the
//               measured round trips only: extra "syscalls_per_round_trip=X". Counted by
//               `perf stat -e raw_syscalls:sys_enter` where it runs (the server at full speed),
//               else, or with CMP_SYSCALLS_TOOL=strace, by `strace -c -f` (ten times slower).
//   wrk         runs `wrk` with benchmarks/net/wrk_check.lua (which checks every response's
//               status and body) and prints its requests, duration and p50 / p99.
// Extras are "key=value" words after the five fields; the servers pass them on.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "net/workloads.hpp"

extern char** environ;

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

// ---- stream ------------------------------------------------------------------------------------

// At most this much of a stream is unanswered (written, not yet echoed back): enough to keep the
// server busy, little enough that the latency is the server's and not the socket buffers'.
constexpr std::size_t kStreamWindow = 64 * 1024;

struct StreamState {
  std::size_t sent = 0;                    // bytes written
  std::size_t received = 0;                // bytes echoed and checked
  bool want_out = true;                    // EPOLLOUT asked for
  std::vector<Clock::time_point> sent_at;  // per message: when its last byte was written
};

// Writes as much of connection c's stream as the socket and the window take (up to 64 messages
// a writev); true if it stopped at EAGAIN (more to write once the socket has room).
bool stream_send(Connection& conn, StreamState& st, const Exchange& exchange, std::size_t c,
                 const cmp::net::EchoLoad& load) {
  const std::size_t total = load.rounds * load.size;
  while (st.sent < total && st.sent - st.received < kStreamWindow) {
    iovec iov[64];
    int count = 0;
    for (std::size_t at = st.sent; at < total && count < 64; ++count) {
      const std::size_t r = at / load.size, off = at % load.size;
      const std::string_view m = exchange.message(c, r);
      const std::size_t room = kStreamWindow - (at - st.received);
      iov[count].iov_base = const_cast<char*>(m.data() + off);
      iov[count].iov_len = std::min(m.size() - off, room);
      at += iov[count].iov_len;
      if (at - st.received == kStreamWindow) {
        ++count;
        break;
      }
    }
    const ssize_t n = writev(conn.fd, iov, count);
    if (n < 0 && errno == EAGAIN) return true;
    if (n < 0) fail(errno_text("writev"));
    const auto now = Clock::now();
    const std::size_t before = st.sent;
    st.sent += static_cast<std::size_t>(n);
    for (std::size_t r = before / load.size; r < st.sent / load.size; ++r) st.sent_at[r] = now;
  }
  return false;
}

// Reads what has come back on connection c and checks every byte against what was sent.
void stream_receive(Connection& conn, StreamState& st, const Exchange& exchange, std::size_t c,
                    const cmp::net::EchoLoad& load, Result& result) {
  char buffer[65536];
  for (;;) {
    const ssize_t n = recv(conn.fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n == 0) fail("connection " + std::to_string(c) + " closed by the server");
    if (n < 0 && errno == EAGAIN) return;
    if (n < 0) fail(errno_text("recv"));
    if (st.received + static_cast<std::size_t>(n) > st.sent) {
      fail("connection " + std::to_string(c) + ": more came back than was sent");
    }
    const auto now = Clock::now();
    for (std::size_t done = 0; done < static_cast<std::size_t>(n);) {
      const std::size_t r = st.received / load.size, off = st.received % load.size;
      const std::size_t k = std::min(load.size - off, static_cast<std::size_t>(n) - done);
      if (std::memcmp(buffer + done, exchange.message(c, r).data() + off, k) != 0) {
        fail("connection " + std::to_string(c) + ", message " + std::to_string(r) +
             ": the echo differs from what was sent");
      }
      done += k;
      st.received += k;
      if (st.received % load.size == 0) {
        result.latencies_ns.push_back(static_cast<std::uint32_t>(std::min<std::int64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(now - st.sent_at[r]).count(),
            UINT32_MAX)));
      }
    }
  }
}

Result measure_stream(std::vector<Connection>& conns, const Exchange& exchange,
                      const cmp::net::EchoLoad& load, Clock::time_point deadline) {
  const int epfd = epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) fail(errno_text("epoll_create1"));
  std::vector<StreamState> states(conns.size());
  for (std::size_t c = 0; c < conns.size(); ++c) {
    fcntl(conns[c].fd, F_SETFL, fcntl(conns[c].fd, F_GETFL) | O_NONBLOCK);
    states[c].sent_at.resize(load.rounds);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.u64 = c;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, conns[c].fd, &ev) != 0) fail(errno_text("epoll_ctl"));
  }
  const std::size_t total = load.rounds * load.size;
  Result result;
  result.latencies_ns.reserve(conns.size() * load.rounds);
  std::size_t active = conns.size();
  const auto start = Clock::now();
  epoll_event events[16];
  while (active > 0) {
    const int ready = epoll_wait(epfd, events, 16, 100);
    if (ready < 0 && errno != EINTR) fail(errno_text("epoll_wait"));
    if (ready <= 0 && Clock::now() > deadline) {
      fail("timed out: " + std::to_string(active) + " connections unfinished");
    }
    for (int i = 0; i < ready; ++i) {
      const std::size_t c = events[i].data.u64;
      StreamState& st = states[c];
      if (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        stream_receive(conns[c], st, exchange, c, load, result);
        if (st.received == total) {
          epoll_ctl(epfd, EPOLL_CTL_DEL, conns[c].fd, nullptr);
          --active;
          continue;
        }
      }
      // Write what the window allows; ask for EPOLLOUT only while the socket itself is full.
      const bool blocked = stream_send(conns[c], st, exchange, c, load);
      if (blocked != st.want_out) {
        st.want_out = blocked;
        epoll_event ev{};
        ev.events = EPOLLIN | (blocked ? EPOLLOUT : 0u);
        ev.data.u64 = c;
        epoll_ctl(epfd, EPOLL_CTL_MOD, conns[c].fd, &ev);
      }
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.round_trips = result.latencies_ns.size();
  close(epfd);
  return result;
}

// ---- idle: the server's CPU and memory, read from /proc ----------------------------------------

// The server's CPU time in ns: the sum over its threads of /proc/<pid>/task/<tid>/schedstat's
// first field (ns on the CPU; /proc/<pid>/stat's ticks are 10 ms, too coarse for 0.1 ms/s).
double process_cpu_ns(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) fail(errno_text(("opendir " + dir).c_str()));
  double total = 0;
  bool any = false;
  while (const dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream in(dir + "/" + e->d_name + "/schedstat");
    double ns = 0;
    if (in >> ns) {
      total += ns;
      any = true;
    }
  }
  closedir(d);
  if (!any) fail("no " + dir + "/*/schedstat (a kernel without CONFIG_SCHED_INFO?)");
  return total;
}

double resident_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
  }
  fail("no VmRSS in /proc/" + std::to_string(pid) + "/status");
}

// Raises RLIMIT_NOFILE's soft limit to the hard one; fails if even that is below `needed`.
void raise_fd_limit(std::size_t needed) {
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < needed) {
    fail("not run: RLIMIT_NOFILE's hard limit is " + std::to_string(lim.rlim_max) + ", " +
         std::to_string(needed) + " descriptors are needed (ulimit -Hn)");
  }
}

int run_idle(const cmp::net::EchoLoad& load, const Exchange& exchange, std::uint16_t port,
             Clock::time_point deadline) {
  const pid_t server = getppid();
  raise_fd_limit(load.connections + 64);
  const double rss_before = resident_kib(server);
  std::vector<Connection> conns(load.connections);
  constexpr std::size_t kBatch = 500;  // under every server's backlog
  for (std::size_t first = 0; first < conns.size(); first += kBatch) {
    const std::size_t end = std::min(conns.size(), first + kBatch);
    for (std::size_t c = first; c < end; ++c) conns[c].fd = connect_to(port);
    for (std::size_t c = first; c < end; ++c) {
      const std::string_view message = exchange.message(c, 1000);
      send_all(conns[c].fd, message.data(), message.size());
      do {
        wait_readable(conns[c].fd, deadline);
        receive(conns[c], c);
      } while (!reply_done(conns[c], exchange, c, 1000));
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the server settle
  const double cpu_before = process_cpu_ns(server);
  const auto start = Clock::now();
  std::this_thread::sleep_for(cmp::net::kIdleSeconds);
  const double cpu = process_cpu_ns(server) - cpu_before;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  const double rss = resident_kib(server) - rss_before;
  finish(conns, deadline);
  std::printf("ok %zu %.9f 0 0 idle_cpu_ms_per_s=%.6f rss_kib_per_conn=%.4f\n", conns.size(),
              seconds, cpu / 1e6 / seconds, rss / static_cast<double>(conns.size()));
  return 0;
}

// ---- syscalls: perf's syscall tracepoint on the server, else strace -c -f ----------------------

// The server's threads, from /proc/<server>/task.
std::size_t thread_count(pid_t server) {
  const std::string dir = "/proc/" + std::to_string(server) + "/task";
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  std::size_t n = 0;
  while (const dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

// A counting tool attached to the server (perf or strace): spawned with its output to a file of
// its own (its stdout and stderr to /dev/null), killed if still running when we are done.
// finish() stops it with SIGINT, which makes it write its count, and returns that file's lines.
class AttachedTool {
 public:
  AttachedTool(const AttachedTool&) = delete;
  AttachedTool& operator=(const AttachedTool&) = delete;

 protected:
  explicit AttachedTool(const char* tag) {
    std::string name = std::string("/tmp/netload-") + tag + "-XXXXXX";
    const int fd = mkstemp(name.data());
    if (fd < 0) fail(errno_text("mkstemp"));
    close(fd);
    out_ = name;
  }
  ~AttachedTool() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    unlink(out_.c_str());
  }
  // posix_spawnp's error number (0: running).
  int spawn(std::vector<std::string> args) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    const int rc = posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
    return rc;
  }
  // Whether the tool has exited (it is then forgotten).
  bool exited() {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) != pid_) return false;
    pid_ = -1;
    return true;
  }
  std::vector<std::string> finish() {
    kill(pid_, SIGINT);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    std::ifstream in(out_);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  pid_t pid_ = -1;
  std::string out_;
};

// Counts the server's system calls with `perf stat -e raw_syscalls:sys_enter -p <server>`: a
// kernel counter per thread, so the server runs at full speed while it is counted (strace stops
// it at every call, ten times slower, which changes what it does: a reply that would come after
// the server's next recv is already there). attached() says whether perf runs and has its counters
// open on every thread; stop() returns the calls counted.
class PerfSyscalls : AttachedTool {
 public:
  explicit PerfSyscalls(pid_t server) : AttachedTool("perf") {
    if (spawn({"perf", "stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "-o", out_, "-p",
               std::to_string(server)}) != 0) {
      return;
    }
    // perf opens one counter per thread of the server: wait until it holds that many.
    const std::size_t threads = thread_count(server);
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      if (exited()) return;  // the tracepoint is not available here
      if (threads != 0 && open_counters() >= threads) {
        attached_ = true;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  bool attached() const { return attached_; }

  double stop() {
    // perf stat -x, prints "<count>,<unit>,raw_syscalls:sys_enter,<run time>,<percent>,,".
    for (const std::string& line : finish()) {
      if (line.find("raw_syscalls:sys_enter") == std::string::npos) continue;
      char* end = nullptr;
      const double calls = std::strtod(line.c_str(), &end);
      if (end != line.c_str()) return calls;
    }
    fail("no count in perf stat's output");
  }

 private:
  // How many perf_event descriptors perf holds open.
  std::size_t open_counters() const {
    const std::string dir = "/proc/" + std::to_string(pid_) + "/fd";
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return 0;
    std::size_t n = 0;
    char target[256];
    while (const dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      const std::string link = dir + "/" + e->d_name;
      const ssize_t len = readlink(link.c_str(), target, sizeof target - 1);
      if (len > 0 &&
          std::string_view(target, static_cast<std::size_t>(len)) == "anon_inode:[perf_event]") {
        ++n;
      }
    }
    closedir(d);
    return n;
  }

  bool attached_ = false;
};

// The fallback where perf is missing or may not trace: `strace -c -f`, attached until every
// thread of the server is traced; stop() detaches it and returns the calls it counted.
class Strace : AttachedTool {
 public:
  explicit Strace(pid_t server) : AttachedTool("strace"), server_(server) {
    if (const int rc = spawn({"strace", "-c", "-f", "-o", out_, "-p", std::to_string(server)})) {
      fail(std::string("not run: cannot run strace: ") + std::strerror(rc));
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (!all_traced()) {
      if (exited()) fail("strace ended before attaching (ptrace not allowed here?)");
      // AttachedTool's destructor kills it: a base's runs when the constructor throws.
      if (Clock::now() > deadline) fail("strace did not attach to the server in 10 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  double stop() {
    // strace -c's table ends with "100.00  <seconds>  <usecs/call>  <calls>  [<errors>] total".
    for (const std::string& line : finish()) {
      std::istringstream words(line);
      std::vector<std::string> w;
      for (std::string x; words >> x;) w.push_back(x);
      if (w.size() >= 5 && w.back() == "total") return std::strtod(w[3].c_str(), nullptr);
    }
    fail("no total in strace -c's output");
  }

 private:
  // Whether every thread of the server shows a tracer.
  bool all_traced() const {
    const std::string dir = "/proc/" + std::to_string(server_) + "/task";
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return false;
    bool all = true;
    while (const dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream in(dir + "/" + e->d_name + "/status");
      std::string line;
      long tracer = 0;
      while (std::getline(in, line)) {
        if (line.rfind("TracerPid:", 0) == 0) tracer = std::strtol(line.c_str() + 10, nullptr, 10);
      }
      all = all && tracer != 0;
    }
    closedir(d);
    return all;
  }

  pid_t server_;
};

// ---- wrk --------------------------------------------------------------------------------------

std::string wrk_script() {
  if (const char* path = std::getenv("CMP_WRK_SCRIPT"); path && *path) return path;
  return WEFT_NETLOAD_WRK_SCRIPT;  // benchmarks/net/wrk_check.lua, set by CMake
}

// Runs wrk against the server; its script prints
//   wrk_check <requests> <duration us> <good> <p50 us> <p99 us> <bad> <socket errors>
int run_wrk(const cmp::net::EchoLoad& load, std::uint16_t port) {
  const std::vector<std::string> args = {"wrk",
                                         "-t1",
                                         "-c" + std::to_string(load.connections),
                                         "-d" + std::to_string(cmp::net::kWrkSeconds) + "s",
                                         "--timeout",
                                         "10s",
                                         "-s",
                                         wrk_script(),
                                         "http://127.0.0.1:" + std::to_string(port) + "/",
                                         "--",
                                         std::to_string(load.pipeline)};
  int fds[2];
  if (pipe(fds) != 0) fail(errno_text("pipe"));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, "wrk", &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    fail(std::string("not run: cannot run wrk (tools/deps installs it): ") + std::strerror(rc));
  }
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const std::size_t at = out.find("wrk_check ");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || at == std::string::npos) {
    fail("wrk failed: " + out.substr(0, 300));
  }
  std::istringstream in(out.substr(at + 10));
  double requests = 0, duration_us = 0, good = 0, p50_us = 0, p99_us = 0, bad = 0, errors = 0;
  in >> requests >> duration_us >> good >> p50_us >> p99_us >> bad >> errors;
  if (bad > 0) fail("wrk: " + std::to_string(static_cast<long>(bad)) + " wrong responses");
  if (errors > 0) fail("wrk: " + std::to_string(static_cast<long>(errors)) + " socket errors");
  if (requests <= 0 || good != requests) fail("wrk: responses unchecked: " + out.substr(at));
  std::printf("ok %.0f %.9f %.0f %.0f\n", requests, duration_us / 1e6, p50_us * 1e3, p99_us * 1e3);
  return 0;
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
  const auto server_port = static_cast<std::uint16_t>(port);
  if (load->mode == cmp::net::Mode::wrk) return run_wrk(*load, server_port);
  const Exchange exchange(*load);
  if (load->mode == cmp::net::Mode::idle) return run_idle(*load, exchange, server_port, deadline);
  std::vector<Connection> conns(load->connections);
  for (auto& conn : conns) conn.fd = connect_to(server_port);
  warm_up(conns, exchange, deadline);
  std::string extras;
  Result result;
  if (load->mode == cmp::net::Mode::stream) {
    result = measure_stream(conns, exchange, *load, deadline);
  } else if (load->mode == cmp::net::Mode::syscalls) {
    // perf's counter unless told otherwise (CMP_SYSCALLS_TOOL=strace) or unable to run.
    const char* tool = std::getenv("CMP_SYSCALLS_TOOL");
    const bool strace_wanted = tool != nullptr && std::string_view(tool) == "strace";
    std::optional<PerfSyscalls> perf;
    if (!strace_wanted) perf.emplace(getppid());
    std::optional<Strace> strace;
    if (!perf || !perf->attached()) {
      perf.reset();
      strace.emplace(getppid());
    }
    result = measure(conns, exchange, *load, deadline);
    const double calls = perf ? perf->stop() : strace->stop();
    char text[96];
    std::snprintf(text, sizeof text, " syscalls_per_round_trip=%.4f syscalls_counted_by_perf=%d",
                  calls / static_cast<double>(result.latencies_ns.size()), perf ? 1 : 0);
    extras = text;
  } else {
    result = measure(conns, exchange, *load, deadline);
  }
  finish(conns, deadline);
  if (result.round_trips != load->connections * load->rounds) fail("round trips missing");
  const auto p50 = percentile(result.latencies_ns, 0.50);
  const auto p99 = percentile(result.latencies_ns, 0.99);
  std::printf("ok %zu %.9f %u %u%s\n", result.round_trips, result.seconds, p50, p99,
              extras.c_str());
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
