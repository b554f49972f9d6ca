// CPython's Lib/test/test_asyncio/test_eager_task_factory.py, method by method (each test is named
// after the method it mirrors), on 1 and 2 workers: loop.set_task_factory(eager_task_factory)
// (here also RunOptions::eager_tasks) makes every create_task -- and gather, TaskGroup,
// ensure_future, which call it -- run the new task's first step inside the call.
//
// The task-counting tests (BaseTaskCountingTests) count, in CPython, the tasks a custom factory
// saw created lazily. weft has no custom factories; the same question is asked directly: did the
// new task's body start before create_task returned? Eager: always (0 lazy starts); lazy: never.
//
// Then RunOptions::continuation_stealing, which trades one of asyncio's guarantees (create_task
// returns right after the first step) for fork-join speed on several workers: its own tests below
// check what it keeps -- every task runs exactly once, current_task() is right on both sides, a
// cancel() meanwhile is delivered at the next suspension, and sums stay exact under stress.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "../compose_test_support.hpp"

namespace {

using weft_compose_test::scaled;

bool contains(const std::vector<weft::TaskRef>& tasks, const weft::TaskRef& task) {
  for (const auto& t : tasks) {
    if (t == task) return true;
  }
  return false;
}

// The id of the thread running this code, re-read on every call (after an await the task may be
// on another worker; pthread_self() is declared const, so a call's answer could be reused).
__attribute__((noinline)) std::thread::id this_thread_id() {
  asm volatile("" ::: "memory");
  return std::this_thread::get_id();
}

// Where a task's body began: unset until it does.
struct StartMark {
  std::atomic<bool> started{false};
  std::thread::id thread;  // written before `started` (release), read after it (acquire)
  void mark() {
    thread = this_thread_id();
    started.store(true, std::memory_order_release);
  }
  // Whether the body began inside the create_task that just returned on this thread: an eager
  // step. (On 2+ workers a lazy task may already have begun on another worker, never on ours:
  // our thread was busy in create_task.)
  bool began_in_create_task() const {
    return started.load(std::memory_order_acquire) && thread == this_thread_id();
  }
};

// EagerTaskFactoryLoopTests: the factory set at the start of every test, as CPython's setUp.
class EagerTaskFactoryLoopTests : public ::testing::TestWithParam<unsigned> {
 protected:
  weft::RunOptions options() const {
    return weft::RunOptions{.workers = GetParam(), .virtual_time = true};
  }
  template <class F>
  void run_coro(F&& body) {
    weft::run(
        [&] {
          weft::get_running_loop().set_task_factory(weft::eager_task_factory);
          body();
        },
        options());
  }
};

TEST_P(EagerTaskFactoryLoopTests, test_eager_task_factory_set) {
  bool ran = false;
  run_coro([&] {
    auto& loop = weft::get_running_loop();
    ASSERT_NE(loop.get_task_factory(), nullptr);
    EXPECT_EQ(*loop.get_task_factory(), weft::eager_task_factory);
    auto t = weft::create_task([&ran] { ran = true; });
    EXPECT_TRUE(ran);  // the eager step ran it to the end, inside create_task
    weft::await(t);
    // set_task_factory(None) restores the default (lazy) factory.
    loop.set_task_factory(nullptr);
    EXPECT_EQ(loop.get_task_factory(), nullptr);
    StartMark mark;  // lazy again: the body did not begin inside create_task on this thread
    auto lazy = weft::create_task([&mark] { mark.mark(); });
    EXPECT_FALSE(mark.began_in_create_task());
    weft::await(lazy);
    EXPECT_TRUE(mark.started.load());
  });
}

TEST_P(EagerTaskFactoryLoopTests, test_await_future_during_eager_step) {
  std::string result;
  run_coro([&] {
    weft::Future<std::string> fut;
    auto t = weft::create_task([fut]() mutable { fut.set_result("my message"); });
    EXPECT_TRUE(t.done());  // the eager step completed the task
    result = weft::await(fut);
  });
  EXPECT_EQ(result, "my message");
}

TEST_P(EagerTaskFactoryLoopTests, test_eager_completion) {
  std::string result;
  run_coro([&] {
    auto t = weft::create_task([] { return std::string("hello"); });
    EXPECT_TRUE(t.done());
    result = weft::await(t);
  });
  EXPECT_EQ(result, "hello");
}

TEST_P(EagerTaskFactoryLoopTests, test_block_after_eager_step) {
  std::string result;
  run_coro([&] {
    auto t = weft::create_task([] {
      weft::sleep(0.1);
      return std::string("finished after blocking");
    });
    EXPECT_FALSE(t.done());
    result = weft::await(t);
    EXPECT_TRUE(t.done());
  });
  EXPECT_EQ(result, "finished after blocking");
}

TEST_P(EagerTaskFactoryLoopTests, test_cancellation_after_eager_completion) {
  std::string result;
  run_coro([&] {
    auto t = weft::create_task([] { return std::string("finished without blocking"); });
    EXPECT_FALSE(t.cancel());  // a finished task can't be cancelled
    result = weft::await(t);
    EXPECT_FALSE(t.cancelled());
  });
  EXPECT_EQ(result, "finished without blocking");
}

TEST_P(EagerTaskFactoryLoopTests, test_cancellation_after_eager_step_blocks) {
  std::string message = "(not raised)";
  run_coro([&] {
    auto t = weft::create_task([] {
      weft::sleep(0.1);
      return std::string("finished after blocking");
    });
    t.cancel("cancellation message");
    EXPECT_GT(t.cancelling(), 0);
    try {
      weft::await(t);
    } catch (const weft::CancelledError& e) {
      message = e.what();
    }
  });
  EXPECT_EQ(message, "cancellation message");
}

TEST_P(EagerTaskFactoryLoopTests, test_current_task) {
  std::optional<weft::TaskRef> captured;
  std::atomic<int> same_after_blocking{-1};
  run_coro([&] {
    auto t = weft::create_task([&] {
      captured = weft::current_task();
      weft::sleep(0.1);  // the task before and after blocking is the same
      same_after_blocking = (weft::current_task() == *captured) ? 1 : 0;
    });
    ASSERT_TRUE(captured.has_value());
    EXPECT_TRUE(captured->is(t));
    weft::await(t);
  });
  EXPECT_EQ(same_after_blocking.load(), 1);
}

TEST_P(EagerTaskFactoryLoopTests, test_all_tasks_with_eager_completion) {
  run_coro([&] {
    std::vector<weft::TaskRef> captured_all_tasks;
    std::optional<weft::TaskRef> me;
    auto t = weft::create_task([&] {
      me = weft::current_task();
      captured_all_tasks = weft::all_tasks();
    });
    ASSERT_TRUE(me.has_value());
    EXPECT_TRUE(contains(captured_all_tasks, *me));
    EXPECT_FALSE(contains(weft::all_tasks(), *me));
  });
}

TEST_P(EagerTaskFactoryLoopTests, test_all_tasks_with_blocking) {
  run_coro([&] {
    weft::Future<void> fut1;
    weft::Future<void> fut2;
    std::vector<weft::TaskRef> captured_eager_all_tasks;
    std::optional<weft::TaskRef> me;
    auto t = weft::create_task([&, fut1, fut2]() mutable {
      me = weft::current_task();
      captured_eager_all_tasks = weft::all_tasks();
      weft::await(fut1);
      fut2.set_result();
    });
    ASSERT_TRUE(me.has_value());
    EXPECT_TRUE(contains(captured_eager_all_tasks, *me));
    EXPECT_TRUE(contains(weft::all_tasks(), *me));
    fut1.set_result();
    weft::await(fut2);
    weft::await(t);  // fut2 is set just before t ends: on 2 workers t may still be finishing
    EXPECT_FALSE(contains(weft::all_tasks(), *me));
  });
}

TEST_P(EagerTaskFactoryLoopTests, test_context_vars) {
  weft::ContextVar<int> cv("cv", 0);
  std::atomic<bool> coro_first_step_ran{false};
  std::atomic<bool> coro_second_step_ran{false};
  std::atomic<int> failures{0};
  run_coro([&] {
    cv.set(1);
    auto t = weft::create_task([&] {
      if (cv.get() != 1) failures.fetch_add(1);
      cv.set(2);
      if (cv.get() != 2) failures.fetch_add(1);
      coro_first_step_ran = true;
      weft::sleep(0.1);
      if (cv.get() != 2) failures.fetch_add(1);
      cv.set(3);
      if (cv.get() != 3) failures.fetch_add(1);
      coro_second_step_ran = true;
    });
    EXPECT_TRUE(coro_first_step_ran.load());
    EXPECT_FALSE(coro_second_step_ran.load());
    EXPECT_EQ(cv.get(), 1);  // the eager step ran in the task's own copy of the context
    weft::await(t);
    EXPECT_TRUE(coro_second_step_ran.load());
    EXPECT_EQ(cv.get(), 1);
  });
  EXPECT_EQ(failures.load(), 0);
}

// CEagerTaskFactoryLoopTests.test_issue122332: awaiting an eagerly finished task works, and the
// finished task holds no coroutine (CPython: get_coro() is None).
TEST_P(EagerTaskFactoryLoopTests, test_issue122332) {
  run_coro([] {
    auto task = weft::create_task([] {});
    weft::await(task);
    EXPECT_TRUE(task.done());
    EXPECT_FALSE(task.cancelled());
  });
}

// An explicit eager_start=false wins over the factory, as in asyncio 3.14.
TEST_P(EagerTaskFactoryLoopTests, ExplicitEagerStartFalseOverridesTheFactory) {
  run_coro([] {
    // Lazy: the body did not begin inside create_task (on 2 workers another worker may already
    // have begun it, never this thread, which was busy in create_task).
    StartMark mark;
    auto t = weft::create_task([&mark] { mark.mark(); }, {.eager_start = false});
    EXPECT_FALSE(mark.began_in_create_task());
    weft::await(t);
    EXPECT_TRUE(mark.started.load());
  });
}

// wait_for(coro, 0) under the eager factory: asyncio's ensure_future runs the first step, so a
// coroutine that finishes in it gives its result; one that suspends is cancelled (TimeoutError).
TEST_P(EagerTaskFactoryLoopTests, WaitForZeroRunsTheEagerStepFirst) {
  run_coro([] {
    EXPECT_EQ(weft::wait_for(weft::coro([] { return 3; }), 0.0), 3);
    // A wait nothing ends (a sleep(0) could be over on another worker before the cancel).
    std::atomic<bool> resumed{false};
    weft::Future<void> never;
    EXPECT_THROW(weft::wait_for(weft::coro([&resumed, never] {
                                  weft::await(never);
                                  resumed = true;
                                }),
                                0.0),
                 weft::TimeoutError);
    EXPECT_FALSE(resumed.load());
  });
}

INSTANTIATE_TEST_SUITE_P(Workers, EagerTaskFactoryLoopTests, ::testing::Values(1u, 2u));

// ---- BaseTaskCountingTests ----

// Counts the tasks whose body did not begin inside create_task (CPython's AsyncTaskCounter
// counts the tasks a factory created lazily).
struct StartCounter {
  std::atomic<long> lazy_starts{0};
  std::atomic<long> tasks{0};
  void note(const StartMark& mark) {
    tasks.fetch_add(1);
    if (!mark.began_in_create_task()) lazy_starts.fetch_add(1);
  }
  template <class F>
  auto create(F body) {
    auto mark = std::make_shared<StartMark>();
    auto task = weft::create_task([mark, body]() mutable {
      mark->mark();
      return body();
    });
    note(*mark);
    return task;
  }
};

int awaitable_chain(int depth) {
  if (depth == 0) return 0;
  return 1 + weft::await(weft::coro(awaitable_chain, depth - 1));
}

void recursive_taskgroups(StartCounter& counter, int width, int depth) {
  if (depth == 0) return;
  weft::task_group([&](weft::TaskGroup& tg) {
    for (int i = 0; i < width; ++i) {
      auto mark = std::make_shared<StartMark>();
      tg.create_task([&counter, mark, width, depth] {
        mark->mark();
        recursive_taskgroups(counter, width, depth - 1);
      });
      counter.note(*mark);
    }
  });
}

void recursive_gather(StartCounter& counter, int width, int depth) {
  if (depth == 0) return;
  std::vector<weft::Task<void>> children;
  for (int i = 0; i < width; ++i) {
    children.push_back(
        counter.create([&counter, width, depth] { recursive_gather(counter, width, depth - 1); }));
  }
  weft::gather(children);
}

class BaseTaskCountingTests : public ::testing::TestWithParam<std::tuple<bool, unsigned>> {
 protected:
  bool eager() const { return std::get<0>(GetParam()); }
  weft::RunOptions options() const {
    return weft::RunOptions{
        .workers = std::get<1>(GetParam()), .virtual_time = true, .eager_tasks = eager()};
  }
  // 5 + 5^2 + 5^3 + 5^4 tasks below the root (CPython's 781 counts the root task too).
  static constexpr long kTasksBelowRoot = 780;
  long expected_lazy_starts() const { return eager() ? 0 : kTasksBelowRoot; }
};

TEST_P(BaseTaskCountingTests, test_awaitables_chain) {
  int observed_depth = 0;
  std::size_t tasks_seen = 0;
  // Awaiting a coroutine runs it on the awaiting task's stack: 100 nested awaits need more than
  // the default 64 KiB in an unoptimized build (CPython's limit here is its recursion limit).
  const std::size_t default_size = weft::default_stack_size();
  weft::set_default_stack_size(1 << 20);
  weft::run(
      [&] {
        observed_depth = awaitable_chain(100);
        tasks_seen = weft::all_tasks().size();  // awaiting a coroutine makes no task
      },
      options());
  weft::set_default_stack_size(default_size);
  EXPECT_EQ(observed_depth, 100);
  EXPECT_EQ(tasks_seen, 1u);
}

TEST_P(BaseTaskCountingTests, test_recursive_taskgroups) {
  StartCounter counter;
  weft::run([&] { recursive_taskgroups(counter, 5, 4); }, options());
  EXPECT_EQ(counter.tasks.load(), kTasksBelowRoot);
  EXPECT_EQ(counter.lazy_starts.load(), expected_lazy_starts());
}

TEST_P(BaseTaskCountingTests, test_recursive_gather) {
  StartCounter counter;
  weft::run([&] { recursive_gather(counter, 5, 4); }, options());
  EXPECT_EQ(counter.tasks.load(), kTasksBelowRoot);
  EXPECT_EQ(counter.lazy_starts.load(), expected_lazy_starts());
}

INSTANTIATE_TEST_SUITE_P(EagerAndNonEager, BaseTaskCountingTests,
                         ::testing::Combine(::testing::Bool(), ::testing::Values(1u, 2u)),
                         [](const auto& info) {
                           return std::string(std::get<0>(info.param) ? "Eager" : "NonEager") +
                                  "Tests_" + std::to_string(std::get<1>(info.param)) + "workers";
                         });

// ---- continuation stealing ----

class ContinuationStealing : public ::testing::TestWithParam<unsigned> {
 protected:
  weft::RunOptions options() const {
    return weft::RunOptions{
        .workers = GetParam(), .eager_tasks = true, .continuation_stealing = true};
  }
};

TEST_P(ContinuationStealing, TheChildIsTheCurrentTaskInItsStepAndTheCreatorAfter) {
  std::atomic<int> wrong{0};
  std::atomic<int> bodies{0};
  weft::run(
      [&] {
        auto creator = weft::current_task();
        for (int i = 0; i < 200; ++i) {
          std::optional<weft::TaskRef> inside;
          auto t = weft::create_task([&inside, &bodies, i] {
            inside = weft::current_task();
            bodies.fetch_add(1);
            weft::sleep(0);
            return i;
          });
          if (!(weft::current_task() == creator)) wrong.fetch_add(1);
          // A thief may resume us before the child's first step even began: look once it ended.
          if (weft::await(t) != i) wrong.fetch_add(1);
          if (!inside || !inside->is(t)) wrong.fetch_add(1);
        }
      },
      options());
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(bodies.load(), 200);
}

TEST_P(ContinuationStealing, ACancelDuringTheHandOffIsDeliveredAtTheNextSuspension) {
  // The creator is cancelled while its child's first step runs (the creator waits in a queue, or
  // is nested, with one worker): create_task still returns the task, and the CancelledError comes
  // at the creator's next suspension.
  std::atomic<int> created{0};
  std::atomic<int> cancelled_at_next_suspension{0};
  weft::run(
      [&] {
        auto creator = weft::create_task(
            [&] {
              auto me = weft::current_task();
              // By value: with continuation stealing the child's step may begin only after we
              // were resumed elsewhere.
              auto child = weft::create_task([me]() mutable {
                me.cancel();
                return 5;
              });
              created.fetch_add(1);
              weft::Future<void> never;  // our next suspension: nothing but the cancel ends it
              try {
                weft::await(never);
              } catch (const weft::CancelledError&) {
                cancelled_at_next_suspension.fetch_add(1);
                EXPECT_EQ(weft::await(child), 5);
                throw;
              }
            },
            {.eager_start = false});
        try {
          weft::await(creator);
        } catch (const weft::CancelledError&) {
        }
        EXPECT_TRUE(creator.cancelled());
      },
      options());
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(cancelled_at_next_suspension.load(), 1);
}

long fork_join_sum(long lo, long hi) {
  if (hi - lo <= 4) {
    long sum = 0;
    for (long i = lo; i < hi; ++i) sum += i;
    return sum;
  }
  long mid = lo + (hi - lo) / 2;
  auto left = weft::create_task([lo, mid] { return fork_join_sum(lo, mid); });
  auto right = weft::create_task([mid, hi] { return fork_join_sum(mid, hi); });
  return weft::await(left) + weft::await(right);
}

TEST_P(ContinuationStealing, ForkJoinSumsAreExactStress) {
  const long n = scaled(20000);
  const int rounds = 5;
  std::vector<long> sums;
  std::atomic<long> leaves{0};
  weft::run(
      [&] {
        for (int r = 0; r < rounds; ++r) sums.push_back(fork_join_sum(0, n));
        // gather and TaskGroup create their children through the same factory.
        std::vector<weft::Task<void>> kids;
        for (int i = 0; i < 100; ++i) kids.push_back(weft::create_task([&] { leaves += 1; }));
        weft::gather(kids);
        weft::task_group([&](weft::TaskGroup& tg) {
          for (int i = 0; i < 100; ++i)
            tg.create_task([&] {
              weft::sleep(0);
              leaves += 1;
            });
        });
      },
      options());
  ASSERT_EQ(sums.size(), static_cast<std::size_t>(rounds));
  for (long s : sums) EXPECT_EQ(s, n * (n - 1) / 2);
  EXPECT_EQ(leaves.load(), 200);
}

INSTANTIATE_TEST_SUITE_P(Workers, ContinuationStealing, ::testing::Values(1u, 2u, 4u));

}  // namespace
