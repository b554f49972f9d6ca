// The comparison suites' harness: every workload is registered once per runtime and worker count
// under one name scheme, runs in a fresh child process, checks its own result and reports one
// figure.
//
//   cmp::add("skynet", "weft", 2, "ms", [] { return skynet_weft(2); });
//   -> Google Benchmark "skynet/weft/threads:2/iterations:1", counter "value", label "ms"
//
// Runtime names: weft, boost.fiber, boost.fiber-suspend, onetbb (Go runs outside, benchmarks/go).
// tools/bench runs every benchmark of every suite on its own and parses these names.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace cmp {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// What one measurement produced: the figure, or why the workload's own check failed.
struct Outcome {
  double value = 0;
  std::string error;                                  // non-empty: a wrong result
  std::vector<std::pair<std::string, double>> extra;  // more counters, for the JSON only
};

inline Outcome measured(double value) {
  Outcome outcome;
  outcome.value = value;
  return outcome;
}
inline Outcome failed(std::string why) {
  Outcome outcome;
  outcome.error = std::move(why);
  return outcome;
}

// Registers `work` as "<bench>/<runtime>/threads:<threads>". Each repetition runs `work` in a
// child process forked for it (see in_child), so no measurement inherits warm memory, threads
// or a scheduler from another -- and Boost.Fiber's work_stealing, which can be set up only once
// per process, gets a process of its own each time.
void add(std::string bench, std::string runtime, int threads, std::string unit,
         std::function<Outcome()> work);

// Records that `runtime` has no rows in this suite and why (e.g. a variant that this build of
// weft cannot construct). `<suite> --cmp_unavailable` prints each such runtime once, as
// "<runtime>\t<why>" lines, and exits; tools/bench shows them as "not built: <why>".
void note_unavailable(std::string runtime, std::string why);

// Runs `work` in a forked child and returns its outcome; a crash, an exception or a child that
// ends without reporting is an error outcome.
Outcome in_child(const std::function<Outcome()>& work);

// Google Benchmark's main, then exit status 1 if any workload failed its check. With
// --cmp_unavailable as the only argument: the note_unavailable lines instead, exit status 0.
int run_main(int argc, char** argv);

// Resident set size of this process in bytes (/proc/self/statm).
std::int64_t resident_bytes();
// CPU time (user + system) of this whole process, in seconds.
double cpu_seconds();
// Gives freed heap memory back to the kernel (malloc_trim), so RSS deltas mean something.
void trim_heap();
// Empty if the kernel reports at least `bytes` available (MemAvailable), else why not.
std::string check_available_memory(std::int64_t bytes);

// The worker counts the comparison runs at when CMP_WORKERS is not set.
inline constexpr int kDefaultWorkerCounts[] = {1, 2};

// The worker counts the comparison runs at: CMP_WORKERS, a comma-separated list of positive
// counts ("1,2,4,8"; tools/bench --workers sets it), else kDefaultWorkerCounts. Read once; a
// malformed list ends the process with a message (exit status 2). Workloads defined at one
// count (yield_switch at 1, suspended_memory at 2) do not use it.
const std::vector<int>& worker_counts();

}  // namespace cmp
