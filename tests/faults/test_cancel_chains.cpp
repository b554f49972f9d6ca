// Cancelling along chains of awaits: a thousand tasks deep (or through gathers), cancelled from
// a task whose fiber stack is small, and await cycles, which asyncio cannot cancel either (its
// Task.cancel recurses forever) -- here each task in the cycle is cancelled once and the cycle
// unwinds, whether cancel() comes from a task or from run()'s teardown.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "faults_test_support.hpp"

namespace {

using weft_faults_test::scaled;

// `depth` tasks, each awaiting the next; the last sleeps until cancelled. Returns the top.
struct Chain {
  std::vector<weft::Task<void>> tasks;
  std::atomic<int> unwound{0};
};

void build_chain(Chain& chain, int depth, bool through_gather) {
  chain.tasks.resize(depth);
  // Built bottom up, so each task's handle on the next exists before it runs.
  for (int i = depth - 1; i >= 0; --i) {
    weft::Task<void> next = i + 1 < depth ? chain.tasks[i + 1] : weft::Task<void>();
    chain.tasks[i] = weft::create_task([&chain, next, through_gather]() mutable {
      try {
        if (!next) {
          weft::sleep(3600.0);
        } else if (through_gather) {
          weft::gather(next);
        } else {
          weft::await(next);
        }
      } catch (const weft::CancelledError&) {
        chain.unwound.fetch_add(1);
        throw;
      }
    });
  }
}

void cancel_chain_from_a_task(int depth, bool through_gather, unsigned workers) {
  weft::run(
      [&] {
        Chain chain;
        build_chain(chain, depth, through_gather);
        weft::sleep(0.01);  // every task is in its await by now (virtual time: all ran)
        for (auto& t : chain.tasks) ASSERT_FALSE(t.done());
        // Cancelled from a task: the walk down the chain runs on this task's fiber stack.
        auto canceller = weft::create_task([&] { return chain.tasks.front().cancel("stop"); });
        EXPECT_TRUE(weft::await(canceller));
        for (auto& t : chain.tasks) {
          EXPECT_THROW(weft::await(t), weft::CancelledError);
        }
        EXPECT_EQ(chain.unwound.load(), depth);
        for (auto& t : chain.tasks) EXPECT_TRUE(t.cancelled());
      },
      weft::RunOptions{.workers = workers, .virtual_time = true});
}

TEST(CancelChains, CancellingTheTopOfAThousandDeepAwaitChainCancelsEveryTask) {
  cancel_chain_from_a_task(1000, false, 1);
}

TEST(CancelChains, CancellingTheTopOfADeepChainOfGathersCancelsEveryTask) {
  cancel_chain_from_a_task(1000, true, 1);
}

TEST(CancelChainsStress, DeepChainsCancelOnManyWorkers) {
  for (unsigned workers : {2u, 4u}) {
    cancel_chain_from_a_task(static_cast<int>(scaled(20000)), false, workers);
    cancel_chain_from_a_task(static_cast<int>(scaled(5000)), true, workers);
  }
}

// a awaits b, b awaits a (through a shared slot each reads once it runs).
struct Cycle {
  weft::Task<void> a, b;
  std::shared_ptr<std::vector<weft::Task<void>>> all;
  std::atomic<int> unwound{0};
};

void start_cycle(Cycle& cycle, int length) {
  // length 2: a -> b -> a; length 1: a task awaiting itself is refused by the runtime, so the
  // smallest cycle is two. Longer cycles go through a chain of helpers.
  auto slots = std::make_shared<std::vector<weft::Task<void>>>(length);
  for (int i = 0; i < length; ++i) {
    (*slots)[i] = weft::create_task([slots, i, length, &cycle] {
      weft::sleep(0.001);  // virtual time: after the creator has filled every slot
      weft::Task<void> next = (*slots)[(i + 1) % length];
      try {
        weft::await(next);
      } catch (const weft::CancelledError&) {
        cycle.unwound.fetch_add(1);
        throw;
      }
    });
  }
  cycle.a = (*slots)[0];
  cycle.b = (*slots)[1];
  cycle.all = slots;  // the tasks hold it too: a cycle of handles until `all` is reset
}

TEST(CancelChains, CancellingATwoTaskAwaitCycleEndsBothTasks) {
  for (unsigned workers : {1u, 2u}) {
    weft::run(
        [&] {
          Cycle cycle;
          start_cycle(cycle, 2);
          weft::sleep(0.01);
          ASSERT_FALSE(cycle.a.done());
          ASSERT_FALSE(cycle.b.done());
          EXPECT_TRUE(cycle.a.cancel());
          EXPECT_THROW(weft::await(cycle.a), weft::CancelledError);
          EXPECT_THROW(weft::await(cycle.b), weft::CancelledError);
          EXPECT_EQ(cycle.unwound.load(), 2);
          EXPECT_EQ(cycle.a.cancelling(), 1);  // each cancelled once
          EXPECT_EQ(cycle.b.cancelling(), 1);
          cycle.all.reset();
        },
        weft::RunOptions{.workers = workers, .virtual_time = true});
  }
}

TEST(CancelChains, CancellingALongAwaitCycleFromATaskEndsEveryTask) {
  weft::run(
      [&] {
        Cycle cycle;
        start_cycle(cycle, 500);
        weft::sleep(0.01);
        auto canceller = weft::create_task([&] { return cycle.b.cancel(); });
        EXPECT_TRUE(weft::await(canceller));
        for (auto& t : *cycle.all) EXPECT_THROW(weft::await(t), weft::CancelledError);
        EXPECT_EQ(cycle.unwound.load(), 500);
        cycle.all.reset();
      },
      weft::RunOptions{.workers = 2, .virtual_time = true});
}

// run()'s teardown cancels the cycle the main task left behind, and returns.
TEST(CancelChains, RunTearsDownAnAwaitCycleLeftBehind) {
  std::atomic<int> unwound{0};
  for (unsigned workers : {1u, 3u}) {
    Cycle* leaked = nullptr;
    int result = weft::run(
        [&] {
          leaked = new Cycle;
          start_cycle(*leaked, 3);
          weft::sleep(0.01);
          return 7;
        },
        weft::RunOptions{.workers = workers, .virtual_time = true});
    EXPECT_EQ(result, 7);
    ASSERT_NE(leaked, nullptr);
    EXPECT_TRUE(leaked->a.cancelled());
    EXPECT_TRUE(leaked->b.cancelled());
    for (auto& t : *leaked->all) EXPECT_TRUE(t.cancelled());
    unwound += leaked->unwound.load();
    leaked->all.reset();
    delete leaked;
  }
  EXPECT_EQ(unwound.load(), 6);
}

}  // namespace
