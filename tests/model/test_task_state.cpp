// The task state word and the armed token (task_state.hpp), explored over every interleaving of
// a stepping worker and its wake sources within the bounds. Each scenario also runs against
// deliberately broken transitions, and the explorer must find what they break: that is how we
// know it would find the same in the real ones.
#include <gtest/gtest.h>

#include "model.hpp"
#include "task/task_state.hpp"

namespace {

using weft::detail::TaskState;
namespace task_state = weft::detail::task_state;
namespace model = weft::model;

using Word = model::Atomic<TaskState>;
using Token = model::Atomic<std::uint64_t>;

// The real transitions.
struct Real {
  static void begin_step(Word& word) { task_state::begin_step(word); }
  static void end_step_done(Word& word) { task_state::end_step_done(word); }
  static bool end_step_wait(Word& word) { return task_state::end_step_wait(word); }
  static bool notify(Word& word) { return task_state::notify(word); }
  static void arm_token(Token& armed, std::uint64_t token) { task_state::arm_token(armed, token); }
  static bool claim_token(Token& armed, std::uint64_t token) {
    return task_state::claim_token(armed, token);
  }
};

// Broken: a wake-up that schedules the task whatever it is doing.
struct BlindNotify : Real {
  static bool notify(Word& word) {
    word.store(TaskState::scheduled, std::memory_order_release);
    return true;
  }
};

// Broken: the end of a step that parks the task without looking for a wake-up that came
// during the step.
struct BlindEndWait : Real {
  static bool end_step_wait(Word& word) {
    word.store(TaskState::idle, std::memory_order_release);
    return false;
  }
};

// Broken: a wake-up that only handles an idle task, as if a step could not be running.
struct NotifyOnlyIdle : Real {
  static bool notify(Word& word) {
    TaskState expected = TaskState::idle;
    return word.compare_exchange_strong(expected, TaskState::scheduled, std::memory_order_acq_rel,
                                        std::memory_order_acquire);
  }
};

// Broken: the step's hand-off with relaxed orders (arming the token, and parking the task), so a
// waker that schedules it has not seen the step, nor has the worker that runs it next.
struct RelaxedHandOff : Real {
  static void arm_token(Token& armed, std::uint64_t token) {
    armed.store(token, std::memory_order_relaxed);
  }
  static bool end_step_wait(Word& word) {
    TaskState expected = TaskState::running;
    if (word.compare_exchange_strong(expected, TaskState::idle, std::memory_order_relaxed,
                                     std::memory_order_relaxed)) {
      return false;
    }
    word.store(TaskState::scheduled, std::memory_order_relaxed);
    return true;
  }
};

// Broken: a token claimed by a load and a store, so two wake sources can both win it.
struct SplitClaim : Real {
  static bool claim_token(Token& armed, std::uint64_t token) {
    if (token == 0 || armed.load(std::memory_order_acquire) != token) return false;
    armed.store(0, std::memory_order_relaxed);
    return true;
  }
};

// One task, the run queue it can be in (a count: 0 or 1, anything else is a bug), and the
// bookkeeping the checks read. The queue is an atomic count with release/acquire, as the real
// queues publish the task to whoever pops it.
template <class Tr>
struct Task {
  model::Execution& ex;
  Word state{TaskState::scheduled};
  Token armed{0};
  // The waiter's registration: how a future's wake-up learns the token (the future's lock in
  // the runtime; a release store and an acquire load here).
  model::Atomic<std::uint64_t> registered{0};
  model::Atomic<int> queued{1};  // it starts in the queue (a fresh task)
  // What a step wrote (the coroutine's own memory, in the runtime): relaxed, so only the
  // hand-off's happens-before makes the next step see it.
  model::Atomic<int> step_data{0};
  int runner = -1;  // plain: which thread is between begin_step and end_step
  int claims = 0;   // wake-ups that won their token
  int steps = 0;

  explicit Task(model::Execution& execution) : ex(execution) {}

  bool try_pop() {
    int expected = 1;
    // Acquire: the enqueuer's state transition happened before we run the task.
    return queued.compare_exchange_strong(expected, 0, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void enqueue() {
    // Release: publishes the task with its state to the popper.
    int before = queued.fetch_add(1, std::memory_order_release);
    ex.check(before == 0, "the task was enqueued while already in a queue");
  }
  // What run() does before the step: the invariant "RUNNING only from SCHEDULED".
  void begin(int me) {
    ex.check(state.load(std::memory_order_relaxed) == TaskState::scheduled,
             "a popped task is not scheduled");
    ex.check(runner == -1, "two threads run the task at once");
    runner = me;
    ++steps;
    Tr::begin_step(state);
  }
  // A step that suspends on `token`; its waiter is registered for the future's wake-up.
  void step_that_waits(std::uint64_t token) {
    step_data.store(static_cast<int>(token), std::memory_order_relaxed);
    Tr::arm_token(armed, token);
    registered.store(token, std::memory_order_release);
    runner = -1;  // the step is over; the fiber is off the stack
    if (Tr::end_step_wait(state)) enqueue();
  }
  void step_that_ends() {
    runner = -1;
    Tr::end_step_done(state);
  }
  void fire(std::uint64_t token) {
    if (!Tr::claim_token(armed, token)) return;
    ++claims;
    if (Tr::notify(state)) enqueue();
  }
  // The future's wake-up: waits for the waiter to be registered, then fires its token (which
  // may be stale by then: a later wait registers a larger one).
  void future_wakeup(std::uint64_t token) {
    while (registered.load(std::memory_order_acquire) < token) ex.spin();
    fire(token);
  }
  // Task.cancel's wake-up: fires whatever token is armed when it looks (maybe none yet).
  void cancel_wakeup() { fire(armed.load(std::memory_order_acquire)); }
  // A wake source that learns the token from the armed word alone (as cancel does), waiting
  // for one: nothing but the token's and the word's own orders relate it to the step.
  void armed_wakeup() {
    std::uint64_t token;
    while ((token = armed.load(std::memory_order_acquire)) == 0) ex.spin();
    fire(token);
  }
};

void report(const model::Stats& stats) {
  testing::Test::RecordProperty("schedules", std::to_string(stats.schedules));
}

// A step ends in a wait while its future's waiter and a cancel race to wake it. Then the one
// worker runs the task again if it finds it queued. Exactly one wake-up wins; the task ends up
// queued exactly once (or already ran again): never lost, never queued twice.
template <class Tr>
model::Stats wait_vs_two_wakers(const char* name, model::Options options = {}) {
  return model::explore(name, options, [](model::Execution& ex) {
    Task<Tr> task(ex);
    ex.thread([&] {
      if (!task.try_pop()) return ex.check(false, "the fresh task was not in its queue");
      task.begin(0);
      task.step_that_waits(1);
      if (task.try_pop()) {
        task.begin(0);
        task.step_that_ends();
      }
    });
    ex.thread([&] { task.future_wakeup(1); });
    ex.thread([&] { task.cancel_wakeup(); });
    ex.run();
    ex.check(task.claims == 1, "not exactly one wake-up won the token");
    TaskState final = task.state.load(std::memory_order_relaxed);
    int queued = task.queued.load(std::memory_order_relaxed);
    bool requeued = final == TaskState::scheduled && queued == 1;
    bool ran_again = final == TaskState::done && queued == 0 && task.steps == 2;
    ex.check(requeued || ran_again, "a wake-up was lost: the task is neither queued nor run");
  });
}

// Two workers and one wake-up: the first worker's step waits; the second worker waits for the
// task to show up in the queue and runs it. If the wake-up were lost the second worker would
// wait forever (reported); if it scheduled a running task, both would run it.
template <class Tr>
model::Stats two_workers_one_waker(const char* name, model::Options options = {}) {
  return model::explore(name, options, [](model::Execution& ex) {
    Task<Tr> task(ex);
    task.try_pop();  // the first worker took the fresh task before the others look
    ex.thread([&] {
      task.begin(0);
      task.step_that_waits(1);
    });
    ex.thread([&] {
      while (!task.try_pop()) ex.spin();
      task.begin(1);
      ex.check(task.step_data.load(std::memory_order_relaxed) == 1,
               "the step does not see what the previous step wrote");
      task.step_that_ends();
    });
    ex.thread([&] { task.armed_wakeup(); });
    ex.run();
    ex.check(task.steps == 2, "the woken task did not run again");
    ex.check(task.state.load(std::memory_order_relaxed) == TaskState::done, "the task is not done");
  });
}

// A stale wake-up: the task waits twice (tokens 1 and 2); a timer of the first wait fires late,
// racing the future that woke it. Token 1 wins once; nothing may wake the second wait, so the
// task ends idle, in no queue.
template <class Tr>
model::Stats stale_timer(const char* name, model::Options options = {}) {
  return model::explore(name, options, [](model::Execution& ex) {
    Task<Tr> task(ex);
    ex.thread([&] {
      if (!task.try_pop()) return ex.check(false, "the fresh task was not in its queue");
      task.begin(0);
      task.step_that_waits(1);
      while (!task.try_pop()) ex.spin();
      task.begin(0);
      task.step_that_waits(2);
    });
    ex.thread([&] { task.future_wakeup(1); });
    ex.thread([&] { task.fire(1); });  // the first wait's timer
    ex.run();
    ex.check(task.claims == 1, "token 1 was won twice, or never");
    ex.check(task.state.load(std::memory_order_relaxed) == TaskState::idle,
             "a stale wake-up woke a later wait");
    ex.check(task.queued.load(std::memory_order_relaxed) == 0, "a stale wake-up queued the task");
  });
}

// The interesting cases need a waker to land inside the step: bound 3 covers them with room.
model::Options bounds() {
  model::Options options;
  options.preemptions = 3;
  options.stale_reads = 1;
  return options;
}

TEST(TaskStateWord, AWaitRacingTwoWakersIsQueuedExactlyOnce) {
  auto stats = wait_vs_two_wakers<Real>("TaskStateWord.wait_vs_two_wakers", bounds());
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(TaskStateWord, TheWokenTaskRunsOnOneWorkerAtATime) {
  auto stats = two_workers_one_waker<Real>("TaskStateWord.two_workers_one_waker", bounds());
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(TaskStateWord, AStaleTokenWakesNothing) {
  auto stats = stale_timer<Real>("TaskStateWord.stale_timer", bounds());
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

// The checker's own tests: each broken transition must be caught.

TEST(TaskStateChecker, FindsADoubleEnqueueWhenNotifySchedulesBlindly) {
  auto stats = two_workers_one_waker<BlindNotify>("TaskStateChecker.blind_notify", bounds());
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

TEST(TaskStateChecker, FindsALostWakeUpWhenTheStepParksBlindly) {
  auto stats = wait_vs_two_wakers<BlindEndWait>("TaskStateChecker.blind_end_wait", bounds());
  report(stats);
  ASSERT_TRUE(stats.failed);
  EXPECT_NE(stats.failure.find("lost"), std::string::npos) << stats.failure;
  std::printf("  found: %s\n", stats.failure.c_str());
}

TEST(TaskStateChecker, FindsALostWakeUpWhenNotifyIgnoresARunningTask) {
  auto stats = two_workers_one_waker<NotifyOnlyIdle>("TaskStateChecker.notify_only_idle", bounds());
  report(stats);
  ASSERT_TRUE(stats.failed);
  EXPECT_NE(stats.failure.find("lost"), std::string::npos) << stats.failure;
  std::printf("  found: %s\n", stats.failure.c_str());
}

TEST(TaskStateChecker, FindsAStaleStepWhenTheHandOffIsRelaxed) {
  auto stats = two_workers_one_waker<RelaxedHandOff>("TaskStateChecker.relaxed_hand_off", bounds());
  report(stats);
  ASSERT_TRUE(stats.failed);
  EXPECT_NE(stats.failure.find("does not see"), std::string::npos) << stats.failure;
  std::printf("  found: %s\n", stats.failure.c_str());
}

TEST(TaskStateChecker, FindsTwoWinnersWhenTheClaimIsNotOneCas) {
  auto stats = stale_timer<SplitClaim>("TaskStateChecker.split_claim", bounds());
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

}  // namespace
