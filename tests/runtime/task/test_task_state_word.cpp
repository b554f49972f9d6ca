// The task state word (task/task_state.hpp), one transition at a time, and its three races on
// real threads: a wake-up during the step, a cancel racing the completion, a stale token.
// tests/model/test_task_state.cpp explores the same functions over every interleaving; these
// pin each transition's result so that a change to one shows up by name.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "../../support/test_support.hpp"
#include "task/task_state.hpp"

namespace weft::detail {
namespace {

using Word = std::atomic<TaskState>;
using Token = std::atomic<std::uint64_t>;

TEST(TaskStateWord, BeginStepMakesAScheduledTaskRunning) {
  Word word{TaskState::scheduled};
  task_state::begin_step(word);
  EXPECT_EQ(word.load(), TaskState::running);
}

TEST(TaskStateWord, EndStepDoneMakesItDone) {
  Word word{TaskState::running};
  task_state::end_step_done(word);
  EXPECT_EQ(word.load(), TaskState::done);
}

TEST(TaskStateWord, EndStepYieldPutsItBackToScheduled) {
  Word word{TaskState::running};
  task_state::end_step_yield(word);
  EXPECT_EQ(word.load(), TaskState::scheduled);
}

TEST(TaskStateWord, EndStepWaitWithNoWakeUpLeavesItIdleAndNotQueued) {
  Word word{TaskState::running};
  EXPECT_FALSE(task_state::end_step_wait(word)) << "nobody woke it: the worker must not enqueue";
  EXPECT_EQ(word.load(), TaskState::idle);
}

TEST(TaskStateWord, EndStepWaitAfterAWakeUpDuringTheStepQueuesItOnce) {
  Word word{TaskState::running};
  EXPECT_FALSE(task_state::notify(word)) << "the stepping worker enqueues, not the waker";
  EXPECT_EQ(word.load(), TaskState::notified);
  EXPECT_TRUE(task_state::end_step_wait(word)) << "the worker enqueues on the waker's behalf";
  EXPECT_EQ(word.load(), TaskState::scheduled);
}

TEST(TaskStateWord, NotifyOfAnIdleTaskSchedulesIt) {
  Word word{TaskState::idle};
  EXPECT_TRUE(task_state::notify(word));
  EXPECT_EQ(word.load(), TaskState::scheduled);
}

TEST(TaskStateWord, NotifyLeavesScheduledNotifiedAndDoneAlone) {
  for (TaskState state : {TaskState::scheduled, TaskState::notified, TaskState::done}) {
    Word word{state};
    EXPECT_FALSE(task_state::notify(word)) << static_cast<int>(state);
    EXPECT_EQ(word.load(), state);
  }
}

TEST(TaskStateWord, ATokenIsClaimedOnceAndZeroNever) {
  Token armed{0};
  EXPECT_FALSE(task_state::claim_token(armed, 0)) << "0 means no wait: nothing to claim";
  task_state::arm_token(armed, 7);
  EXPECT_FALSE(task_state::claim_token(armed, 6)) << "a stale token";
  EXPECT_TRUE(task_state::claim_token(armed, 7));
  EXPECT_EQ(armed.load(), 0u);
  EXPECT_FALSE(task_state::claim_token(armed, 7)) << "the second wake-up for one suspension";
}

TEST(TaskStateWord, AStaleTokenFromTheLastWaitDoesNotClaimTheNext) {
  Token armed{0};
  task_state::arm_token(armed, 1);
  ASSERT_TRUE(task_state::claim_token(armed, 1));  // the first wait's wake-up
  task_state::arm_token(armed, 2);                 // the next suspension
  EXPECT_FALSE(task_state::claim_token(armed, 1)) << "a late timer of the first wait";
  EXPECT_EQ(armed.load(), 2u);
}

// ---- the races, on real threads -------------------------------------------------------------

// One task, one worker stepping it, wakers that fire during the step: every suspension is
// followed by exactly one enqueue, whether the waker or the worker makes it.
TEST(TaskStateWord, AWakeUpDuringTheStepIsNeitherLostNorDoubled) {
  // The wakers spin: under a sanitizer each round costs a time slice, so fewer rounds there.
  constexpr int kRounds = weft_test_support::kSanitized ? 2000 : 20000;
  constexpr int kWakers = 3;
  Word word{TaskState::scheduled};
  Token armed{0};
  std::atomic<std::uint64_t> published{0};  // the token the wakers may try
  std::atomic<int> enqueued_by_wakers{0};
  std::atomic<bool> stop{false};

  std::vector<std::thread> wakers;
  for (int w = 0; w < kWakers; ++w) {
    wakers.emplace_back([&] {
      while (!stop.load(std::memory_order_acquire)) {
        std::uint64_t token = published.load(std::memory_order_acquire);
        if (task_state::claim_token(armed, token) && task_state::notify(word)) {
          enqueued_by_wakers.fetch_add(1, std::memory_order_acq_rel);
        }
      }
    });
  }
  int enqueued_by_worker = 0;
  int bad_round = 0;
  for (int round = 1; round <= kRounds && bad_round == 0; ++round) {
    // The worker popped the task: it must be scheduled, by exactly one enqueue.
    if (word.load(std::memory_order_acquire) != TaskState::scheduled) bad_round = round;
    task_state::begin_step(word);
    task_state::arm_token(armed, round);
    published.store(round, std::memory_order_release);
    if (task_state::end_step_wait(word)) ++enqueued_by_worker;
    // Wait for this suspension's one enqueue (a waker counts its own after its notify).
    while (enqueued_by_worker + enqueued_by_wakers.load(std::memory_order_acquire) < round) {
      std::this_thread::yield();
    }
    if (enqueued_by_worker + enqueued_by_wakers.load() != round) bad_round = round;
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : wakers) t.join();
  EXPECT_EQ(bad_round, 0) << "a suspension was enqueued twice, or not scheduled when popped";
  EXPECT_EQ(enqueued_by_worker + enqueued_by_wakers.load(), kRounds);
  std::printf("  %d wake-ups landed during the step, %d after it\n", enqueued_by_worker,
              enqueued_by_wakers.load());
}

// A cancel's wake-up racing the task's completion: the step armed a wait, then the coroutine
// returned anyway (the wait was answered at once); a wake-up that lands during the step marks it
// notified, and end_step_done overwrites that: a done task is never scheduled again.
TEST(TaskStateWord, AWakeUpRacingTheCompletionNeverReschedulesADoneTask) {
  constexpr int kRounds = 3000;  // a thread per round
  int scheduled_after_done = 0;
  for (int round = 1; round <= kRounds; ++round) {
    Word word{TaskState::scheduled};
    Token armed{0};
    task_state::begin_step(word);
    task_state::arm_token(armed, 1);
    std::atomic<bool> go{false};
    bool waker_enqueued = false;
    std::thread canceller([&] {
      while (!go.load(std::memory_order_acquire)) {
      }
      waker_enqueued = task_state::claim_token(armed, 1) && task_state::notify(word);
    });
    go.store(true, std::memory_order_release);
    task_state::end_step_done(word);
    canceller.join();
    if (waker_enqueued) ++scheduled_after_done;
    ASSERT_EQ(word.load(), TaskState::done) << "round " << round;
  }
  EXPECT_EQ(scheduled_after_done, 0);
}

// Timers of old suspensions fire late, on other threads, while the task has moved on: only the
// token of the current suspension may schedule it.
TEST(TaskStateWord, StaleTokensFiredConcurrentlyScheduleNothing) {
  constexpr int kRounds = 5000;
  Word word{TaskState::scheduled};
  Token armed{0};
  std::atomic<std::uint64_t> current{0};
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::vector<std::thread> stale;
  for (int s = 0; s < 2; ++s) {
    stale.emplace_back([&] {
      std::uint64_t n = 0;
      while (!stop.load(std::memory_order_acquire)) {
        std::uint64_t now = current.load(std::memory_order_acquire);
        if (now < 2) continue;
        std::uint64_t old = 1 + (n++ % (now - 1));  // any token before the current one
        if (task_state::claim_token(armed, old)) wrong.fetch_add(1);
      }
    });
  }
  bool real_wake_up_failed = false;
  for (std::uint64_t round = 1; round <= kRounds && !real_wake_up_failed; ++round) {
    task_state::begin_step(word);
    task_state::arm_token(armed, round);
    current.store(round, std::memory_order_release);
    bool requeued_by_worker = task_state::end_step_wait(word);
    // The real wake-up for this round: it alone may claim the token and schedule the task.
    real_wake_up_failed =
        requeued_by_worker || !task_state::claim_token(armed, round) || !task_state::notify(word);
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : stale) t.join();
  EXPECT_FALSE(real_wake_up_failed) << "a stale token took the current suspension's wake-up";
  EXPECT_EQ(wrong.load(), 0) << "a stale token claimed a later suspension";
}

}  // namespace
}  // namespace weft::detail
