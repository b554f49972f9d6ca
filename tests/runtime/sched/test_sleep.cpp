// sleep(delay[, result]): returns its result, always suspends, and reads the loop's clock --
// virtual time jumps straight to the next timer; real time really waits.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;

TEST(Sleep, ReturnsTheGivenResult) {
  weft::run(
      [] {
        EXPECT_EQ(weft::sleep(1.0, 7), 7);
        EXPECT_EQ(weft::sleep(std::chrono::seconds(2), std::string("done")), "done");
        EXPECT_EQ(weft::sleep(0.0, 3.5), 3.5);
      },
      deterministic());
}

TEST(Sleep, OutsideATaskThrowsRuntimeError) {
  try {
    weft::sleep(0.0);
    FAIL() << "sleep outside a task returned";
  } catch (const weft::RuntimeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("no running event loop", 0), 0u) << e.what();
  }
}

TEST(Sleep, VirtualTimeStartsAtZero) {
  EXPECT_EQ(weft::run([] { return weft::get_running_loop().time(); }, deterministic()), 0.0);
}

TEST(Sleep, VirtualTimeJumpsAnHourAtOnce) {
  double after = weft::run(
      [] {
        weft::sleep(3600.0);
        return weft::get_running_loop().time();
      },
      deterministic());
  EXPECT_DOUBLE_EQ(after, 3600.0);
}

TEST(Sleep, VirtualTimeIsTheSameThroughTheRuntimeHandle) {
  weft::run(
      [] {
        weft::Runtime& loop = weft::get_running_loop();
        weft::sleep(std::chrono::minutes(90));
        EXPECT_DOUBLE_EQ(loop.time(), 5400.0);
        EXPECT_EQ(loop.time(), weft::get_running_loop().time());
      },
      deterministic());
}

TEST(Sleep, VirtualTimeWithManyWorkersJumpsToTheEarliestTimer) {
  Log log;
  double end = weft::run(
      [&] {
        std::vector<weft::Task<double>> tasks;
        for (int i = 3; i >= 1; --i) {
          tasks.push_back(weft::create_task([&, i] {
            weft::sleep(100.0 * i);
            log.add(std::to_string(i));
            return weft::get_running_loop().time();
          }));
        }
        EXPECT_DOUBLE_EQ(weft::await(tasks[0]), 300.0);
        EXPECT_DOUBLE_EQ(weft::await(tasks[1]), 200.0);
        EXPECT_DOUBLE_EQ(weft::await(tasks[2]), 100.0);
        return weft::get_running_loop().time();
      },
      weft::RunOptions{.workers = 4, .virtual_time = true});
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_DOUBLE_EQ(end, 300.0);
}

TEST(Sleep, ZeroDoesNotAdvanceTheClockButYields) {
  Log log;
  weft::run(
      [&] {
        auto other = weft::create_task([&] { log.add("other"); });
        weft::sleep(0.0);
        log.add("main");
        EXPECT_EQ(weft::get_running_loop().time(), 0.0);
        weft::await(other);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"other", "main"}));
}

TEST(Sleep, ANegativeDelayActsLikeZero) {
  Log log;
  weft::run(
      [&] {
        auto other = weft::create_task([&] { log.add("other"); });
        weft::sleep(-5.0);
        log.add("main");
        EXPECT_EQ(weft::get_running_loop().time(), 0.0);
        weft::await(other);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (std::vector<std::string>{"other", "main"}));
}

TEST(Sleep, RealTimeSleepWaitsAtLeastTheDelay) {
  for (unsigned workers : {1u, 2u}) {
    auto start = std::chrono::steady_clock::now();
    double loop_elapsed = weft::run(
        [] {
          double t0 = weft::get_running_loop().time();
          weft::sleep(std::chrono::milliseconds(50));
          return weft::get_running_loop().time() - t0;
        },
        weft::RunOptions{.workers = workers});
    auto elapsed = std::chrono::steady_clock::now() - start;
    EXPECT_GE(elapsed, std::chrono::milliseconds(50)) << workers << " workers";
    EXPECT_GE(loop_elapsed, 0.050) << workers << " workers";
  }
}

TEST(Sleep, RealTimeSleepersOnManyWorkersAllWakeUp) {
  auto start = std::chrono::steady_clock::now();
  int woke = weft::run(
      [] {
        std::vector<weft::Task<int>> tasks;
        for (int i = 0; i < 40; ++i) {
          tasks.push_back(weft::create_task([i] {
            weft::sleep(std::chrono::milliseconds(1 + i % 20));
            return 1;
          }));
        }
        int n = 0;
        for (auto& t : tasks) n += weft::await(t);
        return n;
      },
      weft::RunOptions{.workers = 4});
  EXPECT_EQ(woke, 40);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
}

}  // namespace
