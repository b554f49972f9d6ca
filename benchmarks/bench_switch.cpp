// Switching and hand-offs, side by side: weft and Boost.Fiber (work_stealing). oneTBB has no
// way to suspend a task and resume it later, so it sits these out.
//
//   yield_switch  two tasks on one worker take turns yielding (weft::sleep(0),
//                 boost::this_fiber::yield), 1M times each; the strict alternation is checked.
//                 ns per switch.
//   pingpong      two tasks pass a token back and forth through the runtime's own channel --
//                 weft::Queue, boost::fibers::buffered_channel -- 100k times; every token must
//                 come back incremented. ns per round trip.
// Go's versions are in benchmarks/go.
#include <atomic>

#include "common/workload.hpp"

namespace {

using cmp::Clock;
using cmp::failed;
using cmp::measured;
using cmp::Outcome;
using cmp::seconds_since;

// ---- yield_switch -----------------------------------------------------------------------------

constexpr std::int64_t kYields = 1'000'000;  // per task

// The two players: each checks that the other took the previous turn (whoever started), takes
// its own, and yields.
struct Turns {
  std::atomic<std::int64_t> turns{0};
  std::atomic<std::int64_t> last{-1};
  std::atomic<bool> in_order{true};
  template <class Yield>
  void play(std::int64_t me, Yield yield) {
    for (std::int64_t i = 0; i < kYields; ++i) {
      if (last.exchange(me, std::memory_order_relaxed) == me) in_order = false;
      turns.fetch_add(1, std::memory_order_relaxed);
      yield();
    }
  }
  Outcome result(double seconds) const {
    if (!in_order || turns.load() != 2 * kYields) return failed("the two tasks did not alternate");
    return measured(seconds * 1e9 / (2 * kYields));
  }
};

Outcome yield_switch_weft() {
  weft::Runtime runtime({.workers = 1});
  Turns turns;
  const double seconds = cmp::weft_run(runtime, [&turns] {
    const auto start = Clock::now();
    auto yield = [] { weft::sleep(0); };
    auto a = weft::create_task([&] { turns.play(0, yield); });
    auto b = weft::create_task([&] { turns.play(1, yield); });
    weft::await(a);
    weft::await(b);
    return seconds_since(start);
  });
  return cmp::with_weft_profile(turns.result(seconds), runtime, 2 * kYields);
}

Outcome yield_switch_fiber() {
  cmp::fiber::start(1, false, cmp::fiber::Caller::joins);
  Turns turns;
  const double seconds = cmp::fiber_run([&turns] {
    const auto start = Clock::now();
    auto yield = [] { boost::this_fiber::yield(); };
    auto a = cmp::fiber::launch([&] { turns.play(0, yield); });
    auto b = cmp::fiber::launch([&] { turns.play(1, yield); });
    a.join();
    b.join();
    return seconds_since(start);
  });
  return turns.result(seconds);
}

// ---- pingpong ---------------------------------------------------------------------------------

constexpr int kRounds = 100'000;

Outcome pingpong_result(double seconds, int wrong) {
  if (wrong != 0) return failed(std::to_string(wrong) + " tokens came back wrong");
  return measured(seconds * 1e9 / kRounds);
}

Outcome pingpong_weft(int threads) {
  weft::Runtime runtime({.workers = static_cast<unsigned>(threads)});
  auto [seconds, wrong] = cmp::weft_run(runtime, [] {
    weft::Queue<int> ping, pong;
    auto ponger = weft::create_task([&] {
      for (int i = 0; i < kRounds; ++i) pong.put(ping.get() + 1);
    });
    int wrong = 0;
    const auto start = Clock::now();
    for (int i = 0; i < kRounds; ++i) {
      ping.put(i);
      if (pong.get() != i + 1) ++wrong;
    }
    const double seconds = seconds_since(start);
    weft::await(ponger);
    return std::pair{seconds, wrong};
  });
  return cmp::with_weft_profile(pingpong_result(seconds, wrong), runtime, kRounds);
}

Outcome pingpong_fiber(int threads, bool suspend) {
  cmp::fiber::start(threads, suspend, cmp::fiber::Caller::joins);
  auto [seconds, wrong] = cmp::fiber_run([] {
    boost::fibers::buffered_channel<int> ping(2), pong(2);
    auto ponger = cmp::fiber::launch([&] {
      for (int i = 0; i < kRounds; ++i) pong.push(ping.value_pop() + 1);
    });
    int wrong = 0;
    const auto start = Clock::now();
    for (int i = 0; i < kRounds; ++i) {
      ping.push(i);
      if (pong.value_pop() != i + 1) ++wrong;
    }
    const double seconds = seconds_since(start);
    ponger.join();
    return std::pair{seconds, wrong};
  });
  return pingpong_result(seconds, wrong);
}

void register_all() {
  // One worker: with more, a yield need not switch at all.
  cmp::add("yield_switch", "weft", 1, "ns/switch", yield_switch_weft);
  cmp::add("yield_switch", "boost.fiber", 1, "ns/switch", yield_switch_fiber);

  for (int threads : cmp::worker_counts()) {
    cmp::add("pingpong", "weft", threads, "ns/round trip",
             [threads] { return pingpong_weft(threads); });
    for (auto [name, suspend] : cmp::fiber_variants(threads)) {
      cmp::add("pingpong", name, threads, "ns/round trip",
               [threads, suspend = suspend] { return pingpong_fiber(threads, suspend); });
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  return cmp::run_main(argc, argv);
}
