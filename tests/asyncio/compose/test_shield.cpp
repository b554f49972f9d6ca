// shield: cancelling the task that awaits a shield raises CancelledError there while the inner
// task keeps running to completion; cancelling the inner task (from elsewhere) cancels the
// shield; a shield of a done task gives its outcome; the inner's exception propagates.
// Each scenario logs what tests/asyncio/compose/cpython/shield_scenarios.py prints.
#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::at;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;
using weft_compose_test::state_of;

// Sleeps `delay`, logs "inner finished" (or "inner cancelled") and returns `value`.
weft::Coroutine<int> slow(Log& log, int value = 42, double delay = 2.0) {
  return weft::coro([&log, value, delay] {
    try {
      weft::sleep(delay);
    } catch (const weft::CancelledError&) {
      log.add(at("inner cancelled"));
      throw;
    }
    log.add(at("inner finished"));
    return value;
  });
}

std::string py_bool(bool b) {
  return b ? "True" : "False";
}

TEST(Shield, CancellingTheCallerRaisesCancelledErrorWhileTheInnerKeepsRunning) {
  Log log;
  weft::run(
      [&] {
        auto inner = weft::create_task(slow(log));
        auto caller = weft::create_task([&, inner] {
          try {
            return weft::await(weft::shield(inner));
          } catch (const weft::CancelledError&) {
            log.add(at("caller CancelledError"));
            throw;
          }
        });
        weft::sleep(1.0);
        caller.cancel();
        try {
          weft::await(caller);
        } catch (const weft::CancelledError&) {
          log.add(at("caller " + state_of(caller) + ", inner done: " + py_bool(inner.done())));
        }
        int value = weft::await(inner);
        log.add(at("inner result " + std::to_string(value) + ", " + state_of(inner)));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"caller CancelledError at 1", "caller CancelledError, inner done: False at 1",
                   "inner finished at 2", "inner result 42, ok at 2"}));
}

TEST(Shield, AShieldedCoroutineRunsInItsOwnTaskAndSurvivesTheCaller) {
  Log log;
  weft::run(
      [&] {
        auto caller = weft::create_task([&] { return weft::await(weft::shield(slow(log, 7))); });
        weft::sleep(1.0);
        caller.cancel();
        weft::sleep(0);
        log.add(at("caller " + state_of(caller)));
        weft::sleep(2.0);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"caller CancelledError at 1", "inner finished at 2"}));
}

TEST(Shield, CancellingTheInnerFromElsewhereCancelsTheShield) {
  Log log;
  weft::run(
      [&] {
        auto inner = weft::create_task(slow(log));
        auto caller = weft::create_task([&, inner] {
          try {
            return weft::await(weft::shield(inner));
          } catch (const weft::CancelledError&) {
            log.add(at("caller CancelledError"));
            throw;
          }
        });
        weft::sleep(1.0);
        inner.cancel();
        weft::sleep(0.5);
        log.add("caller " + state_of(caller) + ", inner " + state_of(inner));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner cancelled at 1", "caller CancelledError at 1",
                                  "caller CancelledError, inner CancelledError"}));
}

TEST(Shield, AShieldOfADoneTaskGivesItsOutcome) {
  Log log;
  weft::run(
      [&] {
        auto inner = weft::create_task(slow(log, 5, 1.0));
        weft::await(inner);
        log.add(at("shielded result " + std::to_string(weft::await(weft::shield(inner)))));
        auto failed = weft::create_task([]() -> int { throw weft::ValueError("boom"); });
        weft::sleep(0);
        try {
          weft::await(weft::shield(failed));
        } catch (...) {
          log.add(at("shielded failure " + name_of(std::current_exception())));
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"inner finished at 1", "shielded result 5 at 1",
                                  "shielded failure ValueError: boom at 1"}));
}

TEST(Shield, TheInnersExceptionPropagates) {
  Log log;
  weft::run(
      [&] {
        try {
          weft::await(weft::shield(weft::coro([]() -> int {
            weft::sleep(1.0);
            throw weft::ValueError("boom");
          })));
        } catch (...) {
          log.add(at("caught " + name_of(std::current_exception())));
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"caught ValueError: boom at 1"}));
}

TEST(Shield, ACallerThatSuppressesTheCancellationCarriesOn) {
  Log log;
  weft::run(
      [&] {
        auto inner = weft::create_task(slow(log));
        auto caller = weft::create_task([&, inner]() -> std::optional<int> {
          std::optional<int> res;
          try {
            res = weft::await(weft::shield(inner));
          } catch (const weft::CancelledError&) {
            res = std::nullopt;
          }
          log.add(at(std::string("caller res=") + (res ? std::to_string(*res) : "None")));
          return res;
        });
        weft::sleep(1.0);
        caller.cancel();
        auto returned = weft::await(caller);
        log.add(
            at(std::string("caller returned ") + (returned ? std::to_string(*returned) : "None")));
        log.add(at("inner " + std::to_string(weft::await(inner))));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"caller res=None at 1", "caller returned None at 1",
                                  "inner finished at 2", "inner 42 at 2"}));
}

// asyncio.shield(f) of a done f is f itself (cpython/shield_wait_for_scenarios.py, .out beside
// it); a pending one gets a new outer future.
TEST(Shield, AShieldOfADoneFutureIsThatFuture) {
  weft::run(
      [] {
        weft::Future<int> done;
        done.set_result(5);
        EXPECT_TRUE(weft::shield(done) == done);
        weft::Future<int> pending;
        EXPECT_FALSE(weft::shield(pending) == pending);
        pending.cancel();
        auto t = weft::create_task([] { return 7; });
        weft::await(t);
        weft::Future<int> seen = weft::shield(t);
        EXPECT_TRUE(seen == weft::Future<int>(t)) << "the task itself, seen as a Future";
        EXPECT_EQ(seen.result(), 7);
      },
      deterministic());
}

}  // namespace
