#include "harness.hpp"

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iterator>

namespace cmp {

namespace {

std::atomic<bool> any_failed{false};

// note_unavailable's records: (runtime, why), each runtime once.
std::vector<std::pair<std::string, std::string>>& unavailable() {
  static std::vector<std::pair<std::string, std::string>> list;
  return list;
}

// What a child writes to its parent: one fixed-size record, well under PIPE_BUF.
struct Wire {
  double value;
  int extra_count;
  char error[1024];
  struct {
    char name[48];
    double value;
  } extra[16];
};

void copy_string(char* to, std::size_t size, const std::string& from) {
  const std::size_t n = std::min(size - 1, from.size());
  std::memcpy(to, from.data(), n);
  to[n] = '\0';
}

}  // namespace

Outcome in_child(const std::function<Outcome()>& work) {
  // CMP_NO_FORK=1 runs the workload in this process (for a debugger or a profiler); then run one
  // benchmark per process, as tools/bench does.
  if (const char* no_fork = std::getenv("CMP_NO_FORK"); no_fork && *no_fork == '1') return work();
  int fds[2];
  if (pipe(fds) != 0) return failed(std::string("pipe: ") + std::strerror(errno));
  std::fflush(nullptr);  // nothing buffered may be written twice
  const pid_t pid = fork();
  if (pid < 0) return failed(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fds[0]);
    Outcome outcome;
    try {
      outcome = work();
    } catch (const std::exception& e) {
      outcome = failed(std::string("exception: ") + e.what());
    } catch (...) {
      outcome = failed("unknown exception");
    }
    Wire wire{};
    wire.value = outcome.value;
    copy_string(wire.error, sizeof wire.error, outcome.error);
    for (const auto& [name, value] : outcome.extra) {
      if (wire.extra_count == 16) break;
      auto& slot = wire.extra[wire.extra_count++];
      copy_string(slot.name, sizeof slot.name, name);
      slot.value = value;
    }
    const ssize_t written = write(fds[1], &wire, sizeof wire);
    // The runtimes' threads are still running: end without destructors or atexit handlers.
    _exit(written == static_cast<ssize_t>(sizeof wire) ? 0 : 3);
  }
  close(fds[1]);
  Wire wire{};
  std::size_t got = 0;
  while (got < sizeof wire) {
    const ssize_t n = read(fds[0], reinterpret_cast<char*>(&wire) + got, sizeof wire - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    return failed("the child process died of signal " + std::to_string(WTERMSIG(status)) + " (" +
                  strsignal(WTERMSIG(status)) + ")");
  }
  if (got != sizeof wire || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return failed("the child process ended without a result (exit status " +
                  std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  Outcome outcome;
  outcome.value = wire.value;
  outcome.error = wire.error;
  for (int i = 0; i < wire.extra_count; ++i) {
    outcome.extra.emplace_back(wire.extra[i].name, wire.extra[i].value);
  }
  return outcome;
}

void add(std::string bench, std::string runtime, int threads, std::string unit,
         std::function<Outcome()> work) {
  const std::string name = bench + "/" + runtime + "/threads:" + std::to_string(threads);
  benchmark::RegisterBenchmark(name.c_str(),
                               [name, unit, work = std::move(work)](benchmark::State& state) {
                                 Outcome outcome;
                                 for (auto _ : state) outcome = in_child(work);
                                 if (!outcome.error.empty()) {
                                   any_failed = true;
                                   state.SkipWithError((name + ": " + outcome.error).c_str());
                                   return;
                                 }
                                 state.counters["value"] = outcome.value;
                                 for (const auto& [key, value] : outcome.extra)
                                   state.counters[key] = value;
                                 state.SetLabel(unit);
                               })
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

void note_unavailable(std::string runtime, std::string why) {
  auto& list = unavailable();
  for (const auto& entry : list) {
    if (entry.first == runtime) return;
  }
  list.emplace_back(std::move(runtime), std::move(why));
}

int run_main(int argc, char** argv) {
  if (argc == 2 && std::strcmp(argv[1], "--cmp_unavailable") == 0) {
    for (const auto& [runtime, why] : unavailable()) {
      std::printf("%s\t%s\n", runtime.c_str(), why.c_str());
    }
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (any_failed) {
    std::fprintf(stderr, "a workload failed its own check (see the errors above)\n");
    return 1;
  }
  return 0;
}

std::int64_t resident_bytes() {
  long total = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &total, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return static_cast<std::int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) { return t.tv_sec + t.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void trim_heap() {
  malloc_trim(0);
}

namespace {

// CMP_WORKERS parsed: positive counts, duplicates dropped, in the order given.
std::vector<int> parse_worker_counts(const char* text) {
  std::vector<int> counts;
  const std::string list(text);
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    const std::string item = list.substr(pos, comma - pos);
    char* end = nullptr;
    errno = 0;
    const long n = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || errno != 0 || n < 1 || n > 4096) {
      std::fprintf(stderr,
                   "CMP_WORKERS=\"%s\": \"%s\" is not a worker count (a comma-separated list "
                   "of counts from 1 to 4096, e.g. 1,2,4)\n",
                   text, item.c_str());
      std::exit(2);
    }
    if (std::find(counts.begin(), counts.end(), static_cast<int>(n)) == counts.end()) {
      counts.push_back(static_cast<int>(n));
    }
    pos = comma + 1;
  }
  return counts;
}

}  // namespace

const std::vector<int>& worker_counts() {
  static const std::vector<int> counts = [] {
    const char* env = std::getenv("CMP_WORKERS");
    if (env && *env) return parse_worker_counts(env);
    return std::vector<int>(std::begin(kDefaultWorkerCounts), std::end(kDefaultWorkerCounts));
  }();
  return counts;
}

std::string check_available_memory(std::int64_t bytes) {
  long long kib = -1;
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "MemAvailable: %lld kB", &kib) == 1) break;
    }
    std::fclose(f);
  }
  if (kib < 0 || kib * 1024 >= bytes) return {};
  char text[200];
  std::snprintf(text, sizeof text,
                "needs about %.1f GiB of free memory, the kernel has %.1f GiB available",
                static_cast<double>(bytes) / 1073741824.0, static_cast<double>(kib) / 1048576.0);
  return text;
}

}  // namespace cmp
