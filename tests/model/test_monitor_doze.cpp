// The blocked-worker monitor's doze (blocked_worker_monitor.cpp, Worker::leave_park), explored
// over every interleaving of the monitor deciding to doze and a worker leaving park, within the
// bounds. The monitor dozes with no deadline, so a worker that leaves park unseen would run (and
// perhaps block) with nobody looking: a lost wake-up. The protocol is modelled here as the code
// runs it -- a store of the worker's park word then a load of the monitor's word, against a CAS
// of the monitor's word then a load of the park word -- once with the code's seq_cst orders, and
// once with release / acquire, where the explorer must find the lost wake-up.
#include <gtest/gtest.h>

#include <cstdint>

#include "model.hpp"

namespace {

namespace model = weft::model;

enum : std::uint32_t { awake = 0, dozing = 1 };         // the monitor's word
enum : std::uint32_t { worker_awake = 0, parked = 1 };  // the worker's park word

struct SeqCst {
  static constexpr std::memory_order store = std::memory_order_seq_cst;
  static constexpr std::memory_order load = std::memory_order_seq_cst;
};
struct ReleaseAcquire {  // broken: a store-load pair needs seq_cst on both sides
  static constexpr std::memory_order store = std::memory_order_release;
  static constexpr std::memory_order load = std::memory_order_acquire;
};

template <class Orders>
model::Stats doze_vs_leave_park(const char* name) {
  model::Options options;
  options.preemptions = 3;
  options.stale_reads = 1;
  return model::explore(name, options, [](model::Execution& ex) {
    model::Atomic<std::uint32_t> state{awake};  // the monitor's word, its futex
    model::Atomic<std::uint32_t> park{parked};  // every worker parked for the last looks
    model::Atomic<std::uint32_t> seen{0};       // the monitor saw the worker awake
    ex.thread([&] {  // the worker: Worker::leave_park, then it runs until the monitor looked
      park.store(worker_awake, Orders::store);
      if (state.load(Orders::load) == dozing) {
        std::uint32_t expected = dozing;
        state.compare_exchange_strong(expected, awake, std::memory_order_relaxed);  // wake(awake)
      }
      while (seen.load(std::memory_order_acquire) == 0) ex.spin();
    });
    ex.thread([&] {  // the monitor: the decision to doze, then sleeping and looking
      std::uint32_t expected = awake;
      if (state.compare_exchange_strong(expected, dozing, Orders::store) &&
          park.load(Orders::load) == worker_awake) {
        expected = dozing;
        state.compare_exchange_strong(expected, awake, std::memory_order_relaxed);
      }
      for (;;) {
        // Dozing, it sleeps until the word changes; awake, until its next look.
        if (state.load(std::memory_order_relaxed) != dozing &&
            park.load(std::memory_order_relaxed) == worker_awake) {
          seen.store(1, std::memory_order_release);
          return;
        }
        ex.spin();
      }
    });
    ex.run();
    ex.check(seen.load(std::memory_order_relaxed) == 1, "the monitor never saw the worker");
  });
}

TEST(MonitorDoze, AWorkerLeavingParkIsNeverMissedByADozingMonitor) {
  auto stats = doze_vs_leave_park<SeqCst>("MonitorDoze.seq_cst");
  testing::Test::RecordProperty("schedules", std::to_string(stats.schedules));
  EXPECT_FALSE(stats.failed) << stats.failure;
  EXPECT_GT(stats.schedules, 1);
}

// The checker's own test: with release / acquire the worker's load may miss the monitor's
// `dozing` while the monitor's load misses the worker's `awake`.
TEST(MonitorDozeChecker, FindsALostWakeUpWhenThePairIsReleaseAcquire) {
  auto stats = doze_vs_leave_park<ReleaseAcquire>("MonitorDozeChecker.release_acquire");
  ASSERT_TRUE(stats.failed);
  EXPECT_NE(stats.failure.find("lost"), std::string::npos) << stats.failure;
  std::printf("  found: %s\n", stats.failure.c_str());
}

}  // namespace
