// staggered_race beyond CPython's tests: when each attempt starts (a timeline on one worker),
// plain callables as attempts, the caller's cancellation ending every attempt before it returns,
// and a NaN delay refused before anything starts.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::at;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;

// Attempt i logs its start, sleeps durations[i], and fails if fails[i].
std::vector<std::function<int()>> attempts(Log& log, std::vector<double> durations,
                                           std::vector<bool> fails) {
  std::vector<std::function<int()>> fns;
  for (std::size_t i = 0; i < durations.size(); ++i) {
    fns.push_back([&log, i, d = durations[i], f = bool(fails[i])] {
      log.add(at("start " + std::to_string(i)));
      try {
        weft::sleep(d);
      } catch (const weft::CancelledError&) {
        log.add(at("cancelled " + std::to_string(i)));
        throw;
      }
      if (f) throw weft::ValueError(std::to_string(i));
      return static_cast<int>(i);
    });
  }
  return fns;
}

TEST(StaggeredRace, EachStartsAfterTheDelayOrWhenTheOneBeforeFailed) {
  Log log;
  weft::run(
      [&] {
        // 0 runs long; 1 starts after the delay and fails at 1.5, so 2 starts then, not at 2;
        // 2 wins at 1.75 and 0 is cancelled; 3 never starts.
        auto result = weft::staggered_race(
            attempts(log, {10, 0.5, 0.25, 1}, {false, true, false, false}), 1.0);
        log.add(at("winner " + std::to_string(*result.winner_index) + " result " +
                   std::to_string(*result.winner_result)));
        std::string excs;
        for (auto& e : result.exceptions) excs += name_of(e) + ";";
        log.add(excs);
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"start 0 at 0", "start 1 at 1", "start 2 at 1.5", "cancelled 0 at 1.75",
                   "winner 2 result 2 at 1.75", "CancelledError;ValueError: 1;None;"}));
}

TEST(StaggeredRace, CancellingTheCallerEndsEveryAttemptFirst) {
  Log log;
  weft::run(
      [&] {
        auto race = weft::create_task([&] {
          return weft::staggered_race(attempts(log, {10, 10}, {false, false}), 1.0);
        });
        weft::sleep(2);
        race.cancel("enough");
        try {
          weft::await(race);
        } catch (const weft::CancelledError& e) {
          log.add(at(std::string("caller: CancelledError ") + e.what()));
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"start 0 at 0", "start 1 at 1", "cancelled 0 at 2",
                                  "cancelled 1 at 2", "caller: CancelledError enough at 2"}));
}

TEST(StaggeredRace, ANaNDelayIsAValueErrorBeforeAnythingStarts) {
  Log log;
  weft::run(
      [&] {
        try {
          weft::staggered_race(attempts(log, {1}, {false}),
                               std::numeric_limits<double>::quiet_NaN());
        } catch (const weft::ValueError&) {
          log.add("ValueError");
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), Lines{"ValueError"});
}

}  // namespace
