// Shared helpers for the synchronization-primitive tests: the runtime test helpers (deterministic
// options, scaled sizes), a log for one-worker scenarios, and what the stress tests need.
#pragma once

#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../support/test_support.hpp"

namespace weft_sync_test {

using weft_test_support::eventually;
using weft_test_support::kOptimized;
using weft_test_support::kSanitized;

// Stress sizes: full in an optimized build, a tenth in Debug, a fiftieth under a sanitizer.
inline constexpr long scaled(long n) {
  if (kSanitized) return n / 50 > 0 ? n / 50 : 1;
  if (!kOptimized) return n / 10 > 0 ? n / 10 : 1;
  return n;
}

// One worker and virtual time: asyncio's exact FIFO order, and sleeps that finish at once.
inline weft::RunOptions deterministic() {
  return weft::RunOptions{.workers = 1, .virtual_time = true};
}

// The part of repr() after '[': "locked, waiters:2]>" -- what the Python scenarios print too.
inline std::string repr_state(const std::string& repr) {
  return repr.substr(repr.find('[') + 1);
}

// Awaits a task and reports how it ended: "ok", "cancelled", the exception's text, or "hung"
// if it had not ended after `limit` seconds (virtual seconds in virtual time, where a hung
// scenario reaches the limit at once): then it is cancelled, so a lost wake-up fails the test
// instead of hanging it.
template <class R>
std::string outcome(const weft::Task<R>& task, double limit = 100.0) {
  auto watchdog = weft::create_task([task, limit] {
    weft::sleep(limit);
    weft::Task<R> victim = task;
    victim.cancel("watchdog");
  });
  std::string how;
  try {
    weft::await(task);
    how = "ok";
  } catch (const weft::CancelledError& e) {
    how = e.message() == "watchdog" ? "hung" : "cancelled";
  } catch (const std::exception& e) {
    how = e.what();
  }
  watchdog.cancel();
  return how;
}

// The limit for a whole stress scenario, run as one task under outcome().
inline constexpr double kStressLimit = 300.0;

// Real time, `workers` threads: the stress tests.
inline weft::RunOptions threaded(unsigned workers) {
  return weft::RunOptions{.workers = workers};
}

// A per-task random source for stress tests (seeded from a shared counter: reproducible mix).
class Dice {
 public:
  explicit Dice(std::uint32_t seed) : engine_(seed) {}
  // True with probability 1/n.
  bool one_in(unsigned n) {
    return std::uniform_int_distribution<unsigned>(0, n - 1)(engine_) == 0;
  }
  unsigned below(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(engine_); }
  // Yields to the other tasks: mostly sleep(0), sometimes a few microseconds of real sleep.
  void pause() {
    unsigned roll = below(8);
    if (roll == 0) {
      weft::sleep(std::chrono::microseconds(1 + below(20)));
    } else if (roll < 4) {
      weft::sleep(0);
    }
  }

 private:
  std::minstd_rand engine_;
};

// Runs body() as a task on `workers` threads in real time; fails (instead of hanging) if it
// has not finished within kStressLimit seconds.
template <class F>
void stress_run(unsigned workers, F body) {
  std::string how;
  weft::run([&] { how = outcome(weft::create_task([&body] { body(); }), kStressLimit); },
            threaded(workers));
  EXPECT_EQ(how, "ok");
}

// Counts the tasks inside a critical section; leaving by exception (a cancelled pause) counts.
class Inside {
 public:
  // Enters; returns how many were inside already.
  explicit Inside(std::atomic<int>& count) : count_(count), before_(count.fetch_add(1)) {}
  ~Inside() { count_.fetch_sub(1); }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;
  int before() const noexcept { return before_; }

 private:
  std::atomic<int>& count_;
  int before_;
};

// ---- the CPython ports (tests/asyncio/sync/cpython/test_*.cpp)

// The worker counts every ported test runs with: 1, where the order is asyncio's exactly, and 2.
inline std::vector<unsigned> port_workers() {
  return {1, 2};
}

// Virtual time on `workers` threads: sleeps finish at once, in deadline order.
inline weft::RunOptions virtual_time(unsigned workers) {
  return weft::RunOptions{.workers = workers, .virtual_time = true};
}

// A port's `await asyncio.sleep(0)`. On one worker exactly that: every task ready now takes one
// step. On more, a tiny virtual sleep instead: the clock moves only once every worker is idle,
// so it returns when all that was woken has run as far as it can -- what the test then checks
// holds however the tasks were spread over the workers.
inline void let_run(unsigned workers) {
  weft::sleep(workers == 1 ? 0.0 : 1e-3);
}

// The worker counts the stress suites run with.
inline std::vector<unsigned> stress_workers() {
  return {2, 4, 8};
}

}  // namespace weft_sync_test
