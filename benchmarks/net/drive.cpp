#include "net/drive.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

extern char** environ;

namespace cmp::net {

namespace {

std::string load_generator() {
  if (const char* path = std::getenv("CMP_NETLOAD"); path && *path) return path;
  std::vector<char> self(4096);
  const ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
  if (n <= 0) return "bench_netload";
  std::string dir(self.data(), static_cast<std::size_t>(n));
  return dir.substr(0, dir.rfind('/') + 1) + "bench_netload";
}

// Runs `argv` with its stdout into a pipe; (exit status, what it printed) or an error text.
struct Ran {
  int status = -1;
  std::string out;
  std::string error;
};

Ran run(const std::vector<std::string>& args) {
  Ran ran;
  int fds[2];
  if (pipe(fds) != 0) {
    ran.error = std::string("pipe: ") + std::strerror(errno);
    return ran;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    ran.error = "cannot run " + args[0] + ": " + std::strerror(rc);
    return ran;
  }
  char buffer[512];
  for (ssize_t n; (n = read(fds[0], buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    ran.out.append(buffer, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  ran.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return ran;
}

}  // namespace

Outcome drive(std::uint16_t port, const std::string& workload) {
  const double cpu_before = cpu_seconds();
  const Ran ran = run({load_generator(), "--port", std::to_string(port), "--workload", workload});
  const double cpu = cpu_seconds() - cpu_before;
  if (!ran.error.empty()) return failed(ran.error);
  std::istringstream in(ran.out);
  std::string word;
  double round_trips = 0, seconds = 0, p50 = 0, p99 = 0;
  in >> word >> round_trips >> seconds >> p50 >> p99;
  if (word != "ok" || ran.status != 0 || round_trips <= 0) {
    std::string why = ran.out.empty() ? "no output" : ran.out;
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return failed("bench_netload (exit status " + std::to_string(ran.status) + "): " + why);
  }
  Outcome outcome = measured(cpu * 1e9 / round_trips);
  outcome.extra = {{"round_trips", round_trips},
                   {"wall_ns_per_round_trip", seconds * 1e9 / round_trips},
                   {"p50_latency_ns", p50},
                   {"p99_latency_ns", p99}};
  // The mode's own figures, "key=value" (idle_conns, echo_syscalls): passed on as extras.
  while (in >> word) {
    const std::size_t eq = word.find('=');
    if (eq != std::string::npos) {
      outcome.extra.emplace_back(word.substr(0, eq), std::strtod(word.c_str() + eq + 1, nullptr));
    }
  }
  return outcome;
}

}  // namespace cmp::net
