// The inspect server's socket and thread (architecture.md §18). One thread, not a worker: it
// must answer while every worker is busy or blocked, and it never runs a task. One request line
// per connection, one reply, then close; clients are served one at a time, each with a deadline,
// so a client that never sends (or never reads) costs the others a few seconds at most.
#include "inspect/inspect_server.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "weft/detail/time_ns.hpp"
#include "weft/warnings.hpp"

namespace weft::detail {
namespace {

constexpr std::size_t kMaxRequest = 256;  // the longest request line accepted
constexpr int kRequestTimeoutMs = 2000;   // a client has this long to send its line
constexpr int kSendTimeoutS = 5;          // ... and to take each part of the reply

// One runtime per process serves: the socket is named after the process. The pid that serves,
// or 0: a child of fork() inherits its parent's pid here, not its own, so a runtime of its own
// may serve there (§14). Relaxed: a claim on itself, guarding no other data.
std::atomic<pid_t> serving_pid{0};

bool claim_serving() {
  const pid_t me = getpid();
  pid_t seen = serving_pid.load(std::memory_order_relaxed);
  while (seen != me) {
    if (serving_pid.compare_exchange_weak(seen, me, std::memory_order_relaxed)) return true;
  }
  return false;
}

void warn_inspect(const std::string& message) {
  warn({"RuntimeWarning", "weft inspect: " + message, "", 0});
}

std::string errno_text(const char* call) {
  return std::string(call) + ": " + std::strerror(errno);
}

// A directory for our socket: made 0700 if missing; an existing one must be a real directory
// (not a link), ours, and closed to group and others -- else someone else could swap the socket.
bool ensure_private_directory(const std::string& dir, std::string& why) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    why = errno_text(("mkdir " + dir).c_str());
    return false;
  }
  struct stat st {};
  if (lstat(dir.c_str(), &st) != 0) {
    why = errno_text(("lstat " + dir).c_str());
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    why = dir + " is not a directory";
    return false;
  }
  if (st.st_uid != geteuid()) {
    why = dir + " belongs to another user (uid " + std::to_string(st.st_uid) + ")";
    return false;
  }
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    why = dir + " is open to other users (mode " + mode + ")";
    return false;
  }
  return true;
}

// $XDG_RUNTIME_DIR/weft/<pid>.sock, else /tmp/weft-<uid>/<pid>.sock (tools/weft looks the same
// way).
std::string socket_directory() {
  const char* xdg = std::getenv("XDG_RUNTIME_DIR");
  if (xdg && *xdg) return std::string(xdg) + "/weft";
  return "/tmp/weft-" + std::to_string(geteuid());
}

bool send_all(int fd, const std::string& text) {
  std::size_t sent = 0;
  while (sent < text.size()) {
    // MSG_NOSIGNAL: a client gone away is EPIPE here, not a SIGPIPE for the whole process.
    ssize_t n = send(fd, text.data() + sent, text.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // gone, or SO_SNDTIMEO: give up on this client
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

// The request line: up to '\n' (or the end of the stream), within kRequestTimeoutMs. Returns
// false with a reply already chosen in `error` if it is too long, late, or not there.
bool read_request(int fd, std::string& line, std::string& error) {
  char buf[kMaxRequest + 1];
  std::size_t have = 0;
  // One deadline for the whole line: a client sending a byte at a time gets no more time.
  const std::int64_t deadline = monotonic_now_ns() + std::int64_t{kRequestTimeoutMs} * 1'000'000;
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    const std::int64_t left_ms = (deadline - monotonic_now_ns()) / 1'000'000;
    int ready = left_ms > 0 ? poll(&p, 1, static_cast<int>(left_ms)) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      error = "error: no request within " + std::to_string(kRequestTimeoutMs / 1000) +
              " s (send one line: ps, pstree, top or metrics)\n";
      return false;
    }
    ssize_t n = recv(fd, buf + have, sizeof buf - have, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = "error: " + errno_text("recv") + "\n";
      return false;
    }
    const std::size_t before = have;
    have += static_cast<std::size_t>(n);
    void* newline = std::memchr(buf + before, '\n', have - before);
    if (newline || n == 0) {
      std::size_t end =
          newline ? static_cast<std::size_t>(static_cast<char*>(newline) - buf) : have;
      if (end > kMaxRequest) break;
      line.assign(buf, end);
      return true;
    }
    if (have > kMaxRequest) break;
  }
  error = "error: request longer than " + std::to_string(kMaxRequest) + " bytes\n";
  return false;
}

}  // namespace

std::unique_ptr<InspectServer> InspectServer::start(Scheduler& scheduler) {
  if (!claim_serving()) {
    warn_inspect("another runtime in this process serves its socket already; this one is not seen");
    return nullptr;
  }
  auto fail = [](const std::string& why) -> std::unique_ptr<InspectServer> {
    warn_inspect("not serving: " + why);
    serving_pid.store(0, std::memory_order_relaxed);
    return nullptr;
  };
  std::string dir = socket_directory();
  std::string why;
  if (!ensure_private_directory(dir, why)) return fail(why);
  std::string path = dir + "/" + std::to_string(getpid()) + ".sock";
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return fail("socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return fail(errno_text("socket"));
  // A socket left by an earlier process of the same pid (it crashed): ours, in our directory.
  unlink(path.c_str());
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    why = errno_text(("bind " + path).c_str());
    close(fd);
    return fail(why);
  }
  // Owner-only. The directory is 0700 already, so nobody else reached it between bind and here;
  // the mode is there for whoever checks the file.
  if (chmod(path.c_str(), 0600) != 0 || listen(fd, 16) != 0) {
    why = errno_text("chmod/listen");
    unlink(path.c_str());
    close(fd);
    return fail(why);
  }
  int stop = eventfd(0, EFD_CLOEXEC);
  if (stop < 0) {
    why = errno_text("eventfd");
    unlink(path.c_str());
    close(fd);
    return fail(why);
  }
  std::unique_ptr<InspectServer> server(new InspectServer(scheduler, std::move(path), fd, stop));
  server->thread_ = std::thread([s = server.get()] { s->serve(); });
  return server;
}

InspectServer::InspectServer(Scheduler& scheduler, std::string path, int listen_fd, int stop_fd)
    : scheduler_(scheduler), path_(std::move(path)), listen_fd_(listen_fd), stop_fd_(stop_fd) {}

InspectServer::~InspectServer() {
  std::uint64_t one = 1;
  // The eventfd wakes the poll; a reply being written finishes first (bounded by its timeouts).
  if (write(stop_fd_, &one, sizeof one) < 0) {
  }
  if (thread_.joinable()) thread_.join();
  unlink(path_.c_str());
  close(listen_fd_);
  close(stop_fd_);
  serving_pid.store(0, std::memory_order_relaxed);
}

void InspectServer::serve() {
  pthread_setname_np(pthread_self(), "weft-inspect");  // for top -H, and bench_inspect's CPU time
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;  // EAGAIN (a client gave up), EMFILE...: the next poll retries
    answer(client);
    close(client);
  }
}

void InspectServer::answer(int client) {
  timeval send_timeout{kSendTimeoutS, 0};
  setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  // Every connection, whatever the socket's mode says: only our own user may look inside.
  ucred peer{};
  socklen_t size = sizeof peer;
  if (getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != geteuid()) {
    send_all(client, "error: permission denied: only uid " + std::to_string(geteuid()) +
                         " may inspect this process\n");
    return;
  }
  std::string line;
  std::string error;
  if (!read_request(client, line, error)) {
    send_all(client, error);
    return;
  }
  ReplySink sink{{},
                 [](void* fd, std::string& out) {
                   const bool sent = send_all(*static_cast<int*>(fd), out);
                   out.clear();
                   return sent;
                 },
                 &client};
  try {
    inspect_reply(scheduler_, line, sink);
  } catch (const std::exception& e) {
    // Out of memory, say: this client gets a truncated reply and the reason; the runtime goes on.
    sink.out += std::string("\nerror: ") + e.what() + "\n";
  }
  send_all(client, sink.out);
}

}  // namespace weft::detail
