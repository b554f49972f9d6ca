// What the comparison suites share beyond the harness: the workloads' sizes and expected
// results, and the small adapters that run a root task or fiber to the end.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <weft/weft.hpp>

#include "boost_fiber_pool.hpp"
#include "harness.hpp"
#include "weft_profile.hpp"

namespace cmp {

// skynet: a 10-ary tree of depth 6 -- 1M leaves, 1,111,111 tasks; leaf k returns k.
inline constexpr std::int64_t kSkynetLeaves = 1'000'000;
inline constexpr std::int64_t kSkynetSum = 499'999'500'000;
inline constexpr std::int64_t kSkynetTasks = 1'111'111;

// Runs `body` as a task on `runtime` from this (foreign) thread; returns its result.
template <class F>
auto weft_run(weft::Runtime& runtime, F body) {
  return weft::run_coroutine_threadsafe(weft::coro(std::move(body)), runtime).result();
}

// Runs `body` in a fiber (launch::dispatch) and joins it from the calling fiber; the root of a
// workload is a fiber like the rest, free to be stolen, as weft's root is a task.
template <class F>
auto fiber_run(F body) {
  decltype(body()) result{};
  fiber::launch([&] { result = body(); }).join();
  return result;
}

// Every slot of `ran` must be 1: each task ran exactly once. Empty string if so.
inline std::string check_ran_once(const std::vector<std::uint8_t>& ran) {
  for (std::size_t i = 0; i < ran.size(); ++i) {
    if (ran[i] != 1) {
      return "task " + std::to_string(i) + " ran " + std::to_string(ran[i]) + " times";
    }
  }
  return {};
}

// n * (n - 1) / 2: the sum of 0 .. n-1.
inline constexpr std::int64_t triangle(std::int64_t n) {
  return n * (n - 1) / 2;
}

// The Boost.Fiber variants at `threads` workers: work_stealing with suspend=false (idle
// workers spin) and suspend=true (they sleep); on one worker round_robin, which has no such
// choice (see boost_fiber_pool.hpp).
struct FiberVariant {
  const char* runtime;
  bool suspend;
};
inline std::vector<FiberVariant> fiber_variants(int threads) {
  if (threads == 1) return {{"boost.fiber", false}};
  return {{"boost.fiber", false}, {"boost.fiber-suspend", true}};
}

}  // namespace cmp
