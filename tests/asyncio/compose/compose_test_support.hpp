// Shared helpers for the composition-tool tests (gather, shield, wait_for, timeout, wait,
// as_completed, TaskGroup, get_stack): the deterministic run options, a log, how an awaitable
// ended, and what the stress tests need (scaled sizes, a random source, per-task accounting).
#pragma once

#include <gtest/gtest.h>
#include <weft/weft.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "../../support/test_support.hpp"

namespace weft_compose_test {

using weft_test_support::kOptimized;
using weft_test_support::kSanitized;
using weft_test_support::kTsan;
using weft_test_support::Log;
using weft_test_support::WarningCapture;

// Stress repetitions: full in an optimized build, a quarter in Debug and under ASan, a tenth
// under TSan (whose fiber switches and atomics cost the most: the executable stays well under a
// minute on 2 cores), never below 20.
inline constexpr long scaled(long n) {
  long divisor = kTsan ? 10 : kSanitized ? 4 : kOptimized ? 1 : 4;
  return n / divisor > 20 ? n / divisor : 20;
}

// One worker and virtual time: asyncio's exact FIFO order, and sleeps that finish at once.
inline weft::RunOptions deterministic() {
  return weft::RunOptions{.workers = 1, .virtual_time = true};
}

// The loop's clock, rounded to milliseconds (virtual time jumps exactly, but the deadlines are
// sums of doubles).
inline double now() {
  return std::round(weft::get_running_loop().time() * 1000.0) / 1000.0;
}
// "name at 1.5" -- how the scenarios (and the Python ones) log an event with its time.
inline std::string at(const std::string& what) {
  std::ostringstream text;
  text << what << " at " << now();
  return text.str();
}

using Lines = std::vector<std::string>;

// How an exception reads in the logs, as the Python scenarios print it: "CancelledError",
// "TimeoutError", "ValueError: boom", "RuntimeError: ..." (weft::RuntimeError and a plain
// std::runtime_error alike), "ExceptionGroup: [a, b]".
inline std::string name_of(std::exception_ptr error) {
  if (!error) return "None";
  try {
    std::rethrow_exception(error);
  } catch (const weft::CancelledError&) {
    return "CancelledError";
  } catch (const weft::TimeoutError&) {
    return "TimeoutError";
  } catch (const weft::ValueError& e) {
    return std::string("ValueError: ") + e.what();
  } catch (const weft::ExceptionGroup& group) {
    std::string text = "ExceptionGroup: [";
    for (std::size_t i = 0; i < group.exceptions().size(); ++i) {
      text += (i ? ", " : "") + name_of(group.exceptions()[i]);
    }
    return text + "]";
  } catch (const weft::InvalidStateError& e) {
    return std::string("InvalidStateError: ") + e.what();
  } catch (const std::runtime_error& e) {
    return std::string("RuntimeError: ") + e.what();
  } catch (const std::exception& e) {
    return std::string("exception: ") + e.what();
  } catch (...) {
    return "unknown";
  }
}

// Runs `body` and returns "ok" or the name of what it threw.
template <class F>
std::string outcome_of(F&& body) {
  try {
    body();
    return "ok";
  } catch (...) {
    return name_of(std::current_exception());
  }
}

// The value a std::runtime_error("boom")-like failure is made of, in one place.
struct Boom : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- stress ----

// The worker counts the stress suites run with.
inline std::vector<unsigned> stress_workers() {
  return {2, 3, 4};
}

// A per-task random source (seeded per scenario: a reproducible mix).
class Dice {
 public:
  explicit Dice(std::uint32_t seed) : engine_(seed) {}
  bool one_in(unsigned n) { return below(n) == 0; }
  unsigned below(unsigned n) { return std::uniform_int_distribution<unsigned>(0, n - 1)(engine_); }
  // A small random delay: none, sleep(0), or a few microseconds of real sleep.
  double delay() {
    unsigned roll = below(6);
    if (roll < 2) return -1;  // no suspension
    if (roll < 4) return 0;   // sleep(0)
    return 1e-6 * (1 + below(30));
  }
  // Suspends for delay() (or not at all).
  void pause() { pause_for(delay()); }
  static void pause_for(double d) {
    if (d >= 0) weft::sleep(d);
  }

 private:
  std::minstd_rand engine_;
};

// Per-task bookkeeping for the stress tests: how many times each task's body was entered and
// how many times each task ended (counted by a done callback, which also sees tasks cancelled
// before they ever ran). Every task must be entered at most once and end exactly once.
class Ledger {
 public:
  explicit Ledger(std::size_t tasks) : entered_(tasks), ended_(tasks) {}
  void enter(std::size_t i) { entered_[i].fetch_add(1, std::memory_order_relaxed); }
  template <class R>
  void track(std::size_t i, weft::Task<R>& task) {
    task.add_done_callback(
        [this, i](weft::Task<R>&) { ended_[i].fetch_add(1, std::memory_order_relaxed); });
  }
  // For a slot whose task was never created (its creation was refused): it counts as ended.
  void never_created(std::size_t i) { ended_[i].store(1, std::memory_order_relaxed); }
  int entered(std::size_t i) const { return entered_[i].load(std::memory_order_relaxed); }
  int ended(std::size_t i) const { return ended_[i].load(std::memory_order_relaxed); }
  std::size_t size() const { return entered_.size(); }
  // Fails the test unless every body ran at most once and every task ended exactly once.
  void check(const char* scenario) const {
    for (std::size_t i = 0; i < size(); ++i) {
      ASSERT_LE(entered(i), 1) << scenario << ": task " << i << " ran twice";
      ASSERT_EQ(ended(i), 1) << scenario << ": task " << i << " ended " << ended(i) << " times";
    }
  }

 private:
  std::vector<std::atomic<int>> entered_;
  std::vector<std::atomic<int>> ended_;
};

// Runs `body` as the main task on `workers` threads in real time.
template <class F>
void stress_run(unsigned workers, F body) {
  weft::run(body, weft::RunOptions{.workers = workers});
}

// How a task ended, as the Python scenarios' outcome() prints it: "pending", "ok",
// "CancelledError" or the exception's name_of().
template <class F>
std::string state_of(const F& task) {
  if (!task.done()) return "pending";
  if (task.cancelled()) return "CancelledError";
  if (auto error = task.exception()) return name_of(error);
  return "ok";
}

// after(log, name, delay, value): a coroutine that logs "<name> start", sleeps `delay`, logs
// "<name> end" and returns `value` (the Python scenarios' after()).
template <class T>
weft::Coroutine<T> after(Log& log, std::string name, double delay, T value) {
  return weft::coro([&log, name, delay, value] {
    log.add(at(name + " start"));
    weft::sleep(delay);
    log.add(at(name + " end"));
    return value;
  });
}

}  // namespace weft_compose_test
