// bench_inspect: what a dump of the inspect server costs (RunOptions::inspect, architecture.md
// §18). A runtime with 100,000 tasks waiting on an Event, and one more task that keeps creating
// and awaiting a child; each iteration asks the server for `ps` (or `pstree`) over its socket and
// reads the whole reply. Reported: the time per dump (real time: the server is another thread),
// the reply's size, the server thread's CPU time per dump, and the longest create-and-await round
// trip the churning task saw while the dumps ran -- how long a worker was held up by the dump's
// registry locks, at most -- against a control run that dumps nothing.
#include <benchmark/benchmark.h>
#include <weft/weft.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace {

std::string ask(const std::string& path, const char* request) {  // request: one line
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  std::string reply;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      write(fd, request, std::strlen(request)) > 0) {
    char buf[1 << 16];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return reply;
}

// CPU time of this process's thread named `name` (utime + stime from /proc), in seconds.
double thread_cpu_seconds(const char* name) {
  DIR* tasks = opendir("/proc/self/task");
  double seconds = 0;
  while (dirent* entry = tasks ? readdir(tasks) : nullptr) {
    const std::string dir = std::string("/proc/self/task/") + entry->d_name;
    std::ifstream comm(dir + "/comm");
    std::string comm_name;
    if (!std::getline(comm, comm_name) || comm_name != name) continue;
    std::ifstream stat(dir + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    std::istringstream fields(text.substr(text.rfind(')') + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && fields >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    seconds += static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  if (tasks) closedir(tasks);
  return seconds;
}

inline const weft::CoroutineFunction waiter{"waiter", [](weft::Event* stop) { stop->wait(); }};
inline const weft::CoroutineFunction noop{"noop", [] {}};

void dump(benchmark::State& state, const char* request) {
  const auto tasks = static_cast<int>(state.range(0));
  weft::Runtime rt({.workers = 2, .inspect = true});
  weft::Event stop;
  std::atomic<bool> churning{true};
  std::atomic<std::int64_t> worst_round_trip_ns{0};
  auto setup = weft::run_coroutine_threadsafe(weft::coro([&] {
                                                for (int i = 0; i < tasks; ++i)
                                                  weft::create_task(waiter(&stop));
                                              }),
                                              rt);
  setup.result();
  auto churn = weft::run_coroutine_threadsafe(
      weft::coro([&] {
        while (churning.load(std::memory_order_relaxed)) {
          // The steady clock, not the loop's: the loop may reuse one reading for a while.
          const auto began = std::chrono::steady_clock::now();
          weft::await(weft::create_task(noop()));
          const std::int64_t took = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now() - began)
                                        .count();
          if (took > worst_round_trip_ns.load(std::memory_order_relaxed))
            worst_round_trip_ns.store(took, std::memory_order_relaxed);
        }
      }),
      rt);
  const std::string path = rt.inspect_path();
  std::size_t bytes = 0;
  if (request) ask(path, request);  // warm: the first dump faults in the server's buffers
  worst_round_trip_ns.store(0, std::memory_order_relaxed);
  const double server_cpu_before = thread_cpu_seconds("weft-inspect");
  for (auto _ : state) {
    if (!request) {  // the control: as long as a dump takes, with no dump
      usleep(300'000);
      continue;
    }
    std::string reply = ask(path, request);
    bytes = reply.size();
    benchmark::DoNotOptimize(reply.data());
  }
  churning.store(false, std::memory_order_relaxed);
  churn.result();
  state.counters["reply_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["server_cpu_ms"] = (thread_cpu_seconds("weft-inspect") - server_cpu_before) * 1e3 /
                                    static_cast<double>(state.iterations());
  state.counters["worst_spawn_await_us"] =
      static_cast<double>(worst_round_trip_ns.load(std::memory_order_relaxed)) / 1e3;
  auto end = weft::run_coroutine_threadsafe(weft::coro([&] { stop.set(); }), rt);
  end.result();
}

void BM_inspect_ps(benchmark::State& state) {
  dump(state, "ps\n");
}
void BM_inspect_pstree(benchmark::State& state) {
  dump(state, "pstree\n");
}

// The control: the same runtime and churn, no dump -- the worst round trip the machine gives
// anyway (preemption, page faults), to read worst_spawn_await_us of the dumps against.
void BM_inspect_none(benchmark::State& state) {
  dump(state, nullptr);
}

BENCHMARK(BM_inspect_none)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(5);
BENCHMARK(BM_inspect_ps)->Arg(10000)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_inspect_ps)->Arg(100000)->Unit(benchmark::kMillisecond)->UseRealTime()->Iterations(5);
BENCHMARK(BM_inspect_pstree)
    ->Arg(100000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(5);

}  // namespace
