// Lost work: every submission a runtime accepts runs exactly once, or the submission is refused
// with an error -- from foreign threads, in rounds that end in shutdown() while they still submit.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "faults_test_support.hpp"

namespace {

using weft_faults_test::scaled;

struct Round {
  long accepted = 0;
  long refused = 0;
  long ran = 0;
};

// `submitters` foreign threads call Runtime::call_soon as fast as they can until one call is
// refused; once `backlog` calls were accepted, the main thread shuts the runtime down while they
// still call. Every call that returned normally must have run once its runtime is shut down.
Round call_soon_round(unsigned workers, int submitters, long backlog) {
  auto ran = std::make_shared<std::atomic<long>>(0);
  std::atomic<long> accepted{0}, refused{0};
  auto rt = std::make_unique<weft::Runtime>(weft::RunOptions{.workers = workers});
  std::vector<std::thread> threads;
  for (int t = 0; t < submitters; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        try {
          rt->call_soon([ran] { ran->fetch_add(1, std::memory_order_relaxed); });
          accepted.fetch_add(1, std::memory_order_relaxed);
        } catch (const weft::RuntimeError&) {
          refused.fetch_add(1, std::memory_order_relaxed);
          return;
        }
      }
    });
  }
  while (accepted.load(std::memory_order_relaxed) < backlog) std::this_thread::yield();
  rt->shutdown();  // races the submitters: each call lands before (runs) or after (refused)
  for (auto& t : threads) t.join();
  Round round;
  round.accepted = accepted.load();
  round.refused = refused.load();
  round.ran = ran->load();
  rt.reset();
  return round;
}

class CallSoonStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(CallSoonStress, EveryAcceptedCallbackRunsExactlyOnceAcrossShutdown) {
  const unsigned workers = GetParam();
  const int rounds = static_cast<int>(scaled(40));
  const long backlog = scaled(20000);
  for (int r = 0; r < rounds; ++r) {
    Round round = call_soon_round(workers, 4, backlog);
    ASSERT_EQ(round.ran, round.accepted)
        << "round " << r << " on " << workers << " workers: " << round.accepted << " accepted, "
        << round.ran << " ran, " << round.refused << " refused";
    ASSERT_GE(round.accepted, backlog);
    ASSERT_EQ(round.refused, 4);  // each submitter stops at its first refusal
  }
}

INSTANTIATE_TEST_SUITE_P(Workers, CallSoonStress, ::testing::Values(1u, 2u, 3u, 4u),
                         [](const auto& info) { return std::to_string(info.param) + "Workers"; });

// A callback accepted before shutdown() began runs even when the workers are busy with a
// backlog: shutdown drains the queues it refuses to add to.
TEST(LostWork, CallbacksQueuedBeforeShutdownAllRun) {
  for (unsigned workers : {1u, 2u, 4u}) {
    auto ran = std::make_shared<std::atomic<long>>(0);
    const long n = scaled(200000);
    {
      weft::Runtime rt({.workers = workers});
      for (long i = 0; i < n; ++i) {
        rt.call_soon([ran] { ran->fetch_add(1, std::memory_order_relaxed); });
      }
    }  // ~Runtime: shutdown
    EXPECT_EQ(ran->load(), n) << workers << " workers";
  }
}

// Submitted tasks are accounted for the same way: each run_coroutine_threadsafe either returns
// a future that ends done or cancelled, or throws.
TEST(LostWorkStress, ForeignTaskSubmissionsRacingShutdownAreEachAccountedFor) {
  const int rounds = static_cast<int>(scaled(40));
  for (int r = 0; r < rounds; ++r) {
    auto rt = std::make_unique<weft::Runtime>(weft::RunOptions{.workers = 1u + r % 4});
    std::atomic<long> refused{0};
    std::vector<std::vector<weft::ConcurrentFuture<int>>> futures(3);
    std::vector<std::thread> threads;
    std::atomic<int> started{0};
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        started.fetch_add(1);
        for (int i = 0; i < 2000; ++i) {
          try {
            futures[t].push_back(weft::run_coroutine_threadsafe([i] { return i; }, *rt));
          } catch (const weft::RuntimeError&) {
            refused.fetch_add(1);
          }
        }
      });
    }
    while (started.load() < 3) std::this_thread::yield();
    rt->shutdown();
    for (auto& t : threads) t.join();
    long accounted = refused.load();
    for (auto& per_thread : futures) {
      for (auto& f : per_thread) {
        ASSERT_TRUE(f.done()) << "round " << r << ": an accepted task never ended";
        ++accounted;
      }
    }
    EXPECT_EQ(accounted, 3 * 2000);
  }
}

}  // namespace
