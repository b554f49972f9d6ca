// weft::run: asyncio.run -- main's result or exception comes back, a callable or a coroutine
// runs as the main task, leftover tasks are cancelled and awaited, the to_thread pool is shut
// down, and a nested run() is refused.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;

TEST(Run, ReturnsTheResultOfACallableMain) {
  EXPECT_EQ(weft::run([] { return 42; }, deterministic()), 42);
}

TEST(Run, RunsACoroutineObjectAsMain) {
  auto main = weft::coro(
      [](int x) {
        weft::sleep(1.0);
        return x * 2;
      },
      21);
  EXPECT_EQ(weft::run(std::move(main), deterministic()), 42);
}

TEST(Run, RunsANamedCoroutineFunction) {
  static const weft::CoroutineFunction twice{"twice", [](std::string s) { return s + s; }};
  EXPECT_EQ(weft::run(twice("ab"), deterministic()), "abab");
}

TEST(Run, VoidMainRunsToTheEnd) {
  bool ran = false;
  weft::run(
      [&] {
        weft::sleep(0.0);
        ran = true;
      },
      deterministic());
  EXPECT_TRUE(ran);
}

TEST(Run, RethrowsTheExceptionOfMain) {
  try {
    weft::run([]() -> int { throw std::invalid_argument("bad main"); }, deterministic());
    FAIL() << "run() returned";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "bad main");
  }
}

TEST(Run, RaisesCancelledErrorWhenMainIsCancelled) {
  // asyncio.run() raises CancelledError when the main task ends cancelled.
  try {
    weft::run(
        [] {
          weft::current_task().cancel("main cancelled");
          weft::sleep(1.0);
        },
        deterministic());
    FAIL() << "run() returned";
  } catch (const weft::CancelledError& e) {
    EXPECT_EQ(e.message(), "main cancelled");
  }
}

TEST(Run, UsesTheRequestedNumberOfWorkers) {
  EXPECT_EQ(
      weft::run([] { return weft::get_running_loop().workers(); }, weft::RunOptions{.workers = 3}),
      3u);
}

TEST(Run, LeftoverTasksAreCancelledAndAwaitedAndTheirHandlersRun) {
  Log log;
  weft::Task<void> leftover;
  weft::run(
      [&] {
        leftover = weft::create_task([&] {
          log.add("started");
          try {
            weft::sleep(3600.0);
            log.add("slept");  // never: run() cancels it
          } catch (const weft::CancelledError&) {
            log.add("cancelled");
            weft::sleep(1.0);  // the handler may itself await
            log.add("cleaned up");
            throw;
          }
        });
        weft::sleep(0.0);  // let it start
        log.add("main done");
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (std::vector<std::string>{"started", "main done", "cancelled", "cleaned up"}));
  ASSERT_TRUE(leftover.done());
  EXPECT_TRUE(leftover.cancelled());
}

TEST(Run, ALeftoverReadyWhenMainEndsTakesItsFirstStepThenIsCancelled) {
  // asyncio.run: main's done callback stops the loop behind the steps already queued, so a task
  // created just before main returns still starts; then it is cancelled at its first await.
  Log log;
  weft::Task<void> leftover;
  weft::run(
      [&] {
        leftover = weft::create_task([&] {
          log.add("started");
          try {
            weft::sleep(3600.0);
          } catch (const weft::CancelledError&) {
            log.add("cancelled at " + std::to_string(weft::get_running_loop().time()));
            throw;
          }
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"started", "cancelled at 0.000000"}));
  EXPECT_TRUE(leftover.cancelled());
}

TEST(Run, TheClockDoesNotRunOnAfterMainEnds) {
  // In virtual time nothing stops the clock from jumping to a leftover's timer once main is
  // done, unless the leftovers are cancelled right away, as asyncio.run does.
  std::vector<double> woke;
  weft::run(
      [&] {
        for (double delay : {1.0, 5.0, 3600.0}) {
          weft::create_task([&woke, delay] {
            weft::sleep(delay);
            woke.push_back(delay);
          });
        }
        weft::sleep(2.0);
      },
      deterministic());
  EXPECT_EQ(woke, (std::vector<double>{1.0}));
}

TEST(Run, TasksCreatedByLeftoversWhileTheyUnwindAreCancelledToo) {
  // weft goes further than asyncio.run here (which leaves such a task pending): shutdown
  // repeats until no task is left. Real time, so the child's hour-long sleep cannot end first.
  std::atomic<int> cancelled{0};
  weft::run(
      [&] {
        weft::create_task([&] {
          try {
            weft::sleep(3600.0);
          } catch (const weft::CancelledError&) {
            ++cancelled;
            // Spawns more work while being torn down; run() must not leave it behind.
            weft::create_task([&] {
              try {
                weft::sleep(3600.0);
              } catch (const weft::CancelledError&) {
                ++cancelled;
                throw;
              }
            });
            weft::sleep(0.0);  // the child starts, and is sleeping when the parent ends
            throw;
          }
        });
        weft::sleep(0.0);
      },
      weft::RunOptions{.workers = 1});
  EXPECT_EQ(cancelled.load(), 2);
}

TEST(Run, InsideARunningRuntimeThrowsRuntimeError) {
  std::string message;
  weft::run(
      [&] {
        try {
          weft::run([] { return 1; });
        } catch (const weft::RuntimeError& e) {
          message = e.what();
        }
      },
      deterministic());
  // asyncio's "asyncio.run() cannot be called from a running event loop", with weft's name.
  EXPECT_EQ(message.rfind("weft::run() cannot be called from a running event loop", 0), 0u)
      << message;
}

TEST(Run, ShutsDownTheToThreadPoolAndWaitsForItsWork) {
  // asyncio.run ends with loop.shutdown_default_executor(): blocking work still running when
  // main returns is waited for, not abandoned.
  auto finished = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  weft::run(
      [=] {
        weft::create_task([=] {
          weft::to_thread([=] {
            started->store(true);
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            finished->store(true);
          });
        });
        // Wait until the job is running; then main returns and run() tears down.
        while (!started->load()) weft::sleep(std::chrono::milliseconds(1));
      },
      weft::RunOptions{.workers = 1});
  EXPECT_TRUE(finished->load());
}

TEST(Run, EachRunHasAFreshRuntimeAndClock) {
  for (int i = 0; i < 2; ++i) {
    double start = weft::run(
        [] {
          double t0 = weft::get_running_loop().time();
          weft::sleep(10.0);
          return t0;
        },
        deterministic());
    EXPECT_EQ(start, 0.0);
  }
}

TEST(Run, CanBeCalledFromSeveralThreadsAtOnce) {
  std::vector<std::thread> threads;
  std::atomic<int> total{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      total += weft::run(
          [i] {
            weft::sleep(1.0);
            return i + 1;
          },
          weft::RunOptions{.workers = 2, .virtual_time = true});
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(total.load(), 1 + 2 + 3 + 4);
}

}  // namespace
