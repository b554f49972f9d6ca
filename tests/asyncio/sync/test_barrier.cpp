// Barrier: arrival indices and phases, abort (BrokenBarrierError for the waiting and for later
// arrivals), reset (while parties wait, and to repair a broken barrier), a cancelled party
// leaving the count right, the properties and errors; and many tasks crossing many phases in
// lock step under stress on 2-8 workers.
// The one-worker scenarios print what tests/asyncio/sync/cpython/barrier_scenarios.py prints.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using weft_sync_test::deterministic;
using weft_sync_test::outcome;
using weft_sync_test::repr_state;
using Log = std::vector<std::string>;

TEST(Barrier, PartiesPassTogetherWithTheirArrivalIndexPhaseAfterPhase) {
  Log log;
  weft::run(
      [&] {
        weft::Barrier barrier(3);
        auto party = [&](std::string name, double delay) {
          for (int phase = 0; phase < 2; ++phase) {
            weft::sleep(delay);
            log.push_back(name + " arrives phase " + std::to_string(phase) + " (waiting " +
                          std::to_string(barrier.n_waiting()) + ")");
            auto index = barrier.wait();
            log.push_back(name + " passes phase " + std::to_string(phase) + " with index " +
                          std::to_string(index));
          }
        };
        std::vector<weft::Task<void>> tasks;
        const std::vector<std::pair<const char*, double>> plan = {{"a", 1}, {"b", 2}, {"c", 3}};
        for (auto [name, delay] : plan) {
          tasks.push_back(weft::create_task(weft::coro(party, std::string(name), delay)));
        }
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
        log.push_back(repr_state(barrier.repr()));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a arrives phase 0 (waiting 0)", "b arrives phase 0 (waiting 1)",
                      "c arrives phase 0 (waiting 2)", "c passes phase 0 with index 2",
                      "a passes phase 0 with index 0", "b passes phase 0 with index 1",
                      "a arrives phase 1 (waiting 0)", "b arrives phase 1 (waiting 1)",
                      "c arrives phase 1 (waiting 2)", "c passes phase 1 with index 2",
                      "a passes phase 1 with index 0", "b passes phase 1 with index 1",
                      "filling, waiters:0/3]>"}));
}

TEST(Barrier, AbortBreaksItForWaitingAndLaterPartiesUntilReset) {
  Log log;
  weft::run(
      [&] {
        weft::Barrier barrier(3);
        auto party = [&](std::string name) {
          try {
            barrier.wait();
            log.push_back(name + " passed");
          } catch (const weft::BrokenBarrierError& e) {
            log.push_back(name + ": " + e.what());
          }
        };
        auto state = [&] {
          return repr_state(barrier.repr()) + " broken=" + (barrier.broken() ? "True" : "False");
        };
        std::vector<weft::Task<void>> tasks;
        for (const char* name : {"a", "b"}) {
          tasks.push_back(weft::create_task(weft::coro(party, std::string(name))));
        }
        weft::sleep(0);
        log.push_back("before abort: " + state());
        barrier.abort();
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
        log.push_back("after abort: " + state());
        party("late");
        barrier.reset();
        log.push_back("after reset: " + state());
        tasks.clear();
        for (const char* name : {"x", "y", "z"}) {
          tasks.push_back(weft::create_task(weft::coro(party, std::string(name))));
        }
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
      },
      deterministic());
  EXPECT_EQ(
      log, (Log{"before abort: filling, waiters:2/3]> broken=False", "a: Abort or reset of barrier",
                "b: Abort or reset of barrier", "after abort: broken]> broken=True",
                "late: Barrier aborted", "after reset: filling, waiters:0/3]> broken=False",
                "z passed", "x passed", "y passed"}));
}

TEST(Barrier, ResetSendsWaitingPartiesAwayAndRefillsOnceTheyLeft) {
  Log log;
  weft::run(
      [&] {
        weft::Barrier barrier(2);
        auto party = [&](std::string name) {
          try {
            auto index = barrier.wait();
            log.push_back(name + " passed with " + std::to_string(index));
          } catch (const weft::BrokenBarrierError& e) {
            log.push_back(name + ": " + e.what());
          }
        };
        auto a = weft::create_task(weft::coro(party, std::string("a")));
        weft::sleep(0);
        log.push_back("waiting: " + std::to_string(barrier.n_waiting()));
        barrier.reset();
        log.push_back("after reset: " + repr_state(barrier.repr()));
        EXPECT_EQ(outcome(a), "ok");
        log.push_back("after a left: " + repr_state(barrier.repr()));
        auto b = weft::create_task(weft::coro(party, std::string("b")));
        auto c = weft::create_task(weft::coro(party, std::string("c")));
        EXPECT_EQ(outcome(b), "ok");
        EXPECT_EQ(outcome(c), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"waiting: 1", "after reset: resetting, waiters:0/2]>",
                      "a: Abort or reset of barrier", "after a left: filling, waiters:0/2]>",
                      "c passed with 1", "b passed with 0"}));
}

TEST(Barrier, ACancelledPartyLeavesTheCountAsItWas) {
  Log log;
  weft::run(
      [&] {
        weft::Barrier barrier(2);
        auto party = [&](std::string name) {
          try {
            auto index = barrier.wait();
            log.push_back(name + " passed with " + std::to_string(index));
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
        };
        auto a = weft::create_task(weft::coro(party, std::string("a")));
        weft::sleep(0);
        a.cancel();
        EXPECT_EQ(outcome(a), "cancelled");
        log.push_back("after cancel: " + repr_state(barrier.repr()));
        auto b = weft::create_task(weft::coro(party, std::string("b")));
        auto c = weft::create_task(weft::coro(party, std::string("c")));
        EXPECT_EQ(outcome(b), "ok");
        EXPECT_EQ(outcome(c), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a cancelled", "after cancel: filling, waiters:0/2]>", "c passed with 1",
                      "b passed with 0"}));
}

TEST(Barrier, PropertiesAndErrors) {
  try {
    weft::Barrier barrier(0);
    FAIL() << "Barrier(0) was made";
  } catch (const weft::ValueError& e) {
    EXPECT_STREQ(e.what(), "parties must be > 0");
  }
  weft::Barrier barrier(4);
  EXPECT_EQ(barrier.parties(), 4);
  EXPECT_EQ(barrier.n_waiting(), 0);
  EXPECT_FALSE(barrier.broken());
  EXPECT_EQ(barrier.repr().rfind("<weft::Barrier at 0x", 0), 0u) << barrier.repr();
  // asyncio's BrokenBarrierError is a RuntimeError.
  EXPECT_THROW(throw weft::BrokenBarrierError("x"), weft::RuntimeError);
}

// ---- stress: 2-8 workers

class BarrierStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(BarrierStress, PartiesCrossEveryPhaseInLockStep) {
  // Each party records the phase it is in; no party may be two phases ahead of another, and
  // each phase hands out every index 0..parties-1 exactly once.
  constexpr int parties = 8;
  const int phases = static_cast<int>(weft_sync_test::scaled(1000));
  std::atomic<int> out_of_step{0};
  std::vector<std::atomic<int>> phase_of(parties);
  std::vector<std::atomic<long>> index_sum(static_cast<std::size_t>(phases));
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::Barrier barrier(parties);
    std::vector<weft::Task<void>> all;
    for (int p = 0; p < parties; ++p) {
      all.push_back(weft::create_task([&, p] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(p) + 77u);
        for (int phase = 0; phase < phases; ++phase) {
          phase_of[static_cast<std::size_t>(p)].store(phase);
          for (auto& other : phase_of) {
            int theirs = other.load();
            if (theirs < phase - 1 || theirs > phase + 1) out_of_step.fetch_add(1);
          }
          dice.pause();
          auto index = barrier.wait();
          index_sum[static_cast<std::size_t>(phase)].fetch_add(index);
        }
      }));
    }
    for (auto& t : all) EXPECT_EQ(outcome(t), "ok");
  });
  EXPECT_EQ(out_of_step.load(), 0);
  for (int phase = 0; phase < phases; ++phase) {
    ASSERT_EQ(index_sum[static_cast<std::size_t>(phase)].load(), parties * (parties - 1) / 2)
        << "phase " << phase;
  }
}

TEST_P(BarrierStress, AbortAndResetNeverStrandAParty) {
  // Rounds of parties while another task aborts or resets at random moments: every party ends,
  // passing or with BrokenBarrierError, and the barrier is usable afterwards.
  constexpr int parties = 4;
  const int rounds = static_cast<int>(weft_sync_test::scaled(300));
  std::atomic<int> passed{0};
  std::atomic<int> broken{0};
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::Barrier barrier(parties);
    weft_sync_test::Dice dice(5);
    for (int r = 0; r < rounds; ++r) {
      std::atomic<int> arrived{0};
      std::atomic<int> ended{0};
      std::vector<weft::Task<void>> all;
      for (int p = 0; p < parties; ++p) {
        all.push_back(weft::create_task([&, p] {
          weft_sync_test::Dice mine(static_cast<std::uint32_t>(r * parties + p));
          mine.pause();
          arrived.fetch_add(1);
          try {
            barrier.wait();
            passed.fetch_add(1);
          } catch (const weft::BrokenBarrierError&) {
            broken.fetch_add(1);
          }
          ended.fetch_add(1);
        }));
      }
      unsigned roll = dice.below(4);
      if (roll == 0) {
        dice.pause();
        barrier.abort();
      } else if (roll == 1) {
        dice.pause();
        barrier.reset();
      }
      // After a reset, the parties that arrive later fill a new round that can never complete:
      // once every party has arrived and all those left are waiting, reset again to free
      // them, as a program recovering from a reset would.
      while (ended.load() < parties) {
        weft::sleep(0.0005);
        int left = parties - ended.load();
        if (arrived.load() == parties && left > 0 && barrier.n_waiting() == left) {
          barrier.reset();
        }
      }
      for (auto& t : all) EXPECT_EQ(outcome(t), "ok");
      barrier.reset();
    }
  });
  EXPECT_EQ(passed.load() + broken.load(), rounds * parties);
  EXPECT_GT(passed.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(Workers, BarrierStress,
                         ::testing::ValuesIn(weft_sync_test::stress_workers()));

}  // namespace
