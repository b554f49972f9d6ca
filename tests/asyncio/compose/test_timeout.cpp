// timeout() / timeout_at(): the body is cancelled and TimeoutError raised; expired(); when();
// reschedule() moves the deadline (later, earlier, none); nested scopes (the inner one expiring
// is caught inside the outer, the outer one expiring while the inner is active is the outer's
// TimeoutError and the inner's CancelledError); a cancellation from outside stays a
// CancelledError; cancelling()/uncancel() balance after the scope; reschedule() on a finished
// scope is a RuntimeError; a deadline already passed fires at the body's first suspension.
// Each scenario logs what tests/asyncio/compose/cpython/timeout_scenarios.py prints.
#include <gtest/gtest.h>

#include <optional>
#include <sstream>
#include <string>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::at;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;

void sleeper(Log& log, double delay, const std::string& name = "body") {
  try {
    weft::sleep(delay);
  } catch (const weft::CancelledError&) {
    log.add(at(name + " cancelled"));
    throw;
  }
  log.add(at(name + " done"));
}

template <class F>
void guarded(Log& log, F&& scope) {
  try {
    scope();
    log.add(at("scope ok"));
  } catch (...) {
    log.add(at("caught " + name_of(std::current_exception())));
  }
}

std::string py_bool(bool b) {
  return b ? "True" : "False";
}
std::string py_when(std::optional<double> when) {
  if (!when) return "None";
  std::ostringstream text;
  text << *when;
  return text.str();
}
double loop_time() {
  return weft::get_running_loop().time();
}

TEST(Timeout, TheBodyIsCancelledAndTimeoutErrorRaised) {
  Log log;
  weft::run([&] { guarded(log, [&] { weft::timeout(1.0, [&] { sleeper(log, 10.0); }); }); },
            deterministic());
  EXPECT_EQ(log.entries(), (Lines{"body cancelled at 1", "caught TimeoutError at 1"}));
}

TEST(Timeout, ExpiredTellsWhetherTheDeadlineCancelledTheBody) {
  Log log;
  weft::run(
      [&] {
        std::optional<weft::Timeout> cm;
        auto scope = [&](double delay) {
          weft::timeout(1.0, [&](weft::Timeout& t) {
            cm = t;
            log.add("expired inside: " + py_bool(t.expired()));
            sleeper(log, delay);
          });
        };
        guarded(log, [&] { scope(0.5); });
        log.add("in time: expired " + py_bool(cm->expired()));
        guarded(log, [&] { scope(5.0); });
        log.add("late: expired " + py_bool(cm->expired()));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"expired inside: False", "body done at 0.5", "scope ok at 0.5",
                   "in time: expired False", "expired inside: False", "body cancelled at 1.5",
                   "caught TimeoutError at 1.5", "late: expired True"}));
}

TEST(Timeout, RescheduleLaterLetsTheBodyFinish) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          std::optional<weft::Timeout> cm;
          weft::timeout(1.0, [&](weft::Timeout& t) {
            cm = t;
            t.reschedule(loop_time() + 5);
            sleeper(log, 3.0);
          });
          log.add("expired " + py_bool(cm->expired()));
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"body done at 3", "expired False", "scope ok at 3"}));
}

TEST(Timeout, RescheduleEarlierFiresSooner) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::timeout(10.0, [&](weft::Timeout& t) {
            t.reschedule(loop_time() + 1);
            sleeper(log, 5.0);
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"body cancelled at 1", "caught TimeoutError at 1"}));
}

TEST(Timeout, RescheduleToNoneRemovesTheDeadline) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::timeout(1.0, [&](weft::Timeout& t) {
            t.reschedule(std::nullopt);
            log.add("when " + py_when(t.when()));
            sleeper(log, 3.0);
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"when None", "body done at 3", "scope ok at 3"}));
}

TEST(Timeout, WhenIsTheDeadlineOnTheLoopClock) {
  Log log;
  weft::run(
      [&] {
        weft::sleep(1.0);
        weft::timeout_at(
            5.0, [&](weft::Timeout& t) { log.add("timeout_at(5).when() " + py_when(t.when())); });
        weft::timeout(2.0,
                      [&](weft::Timeout& t) { log.add("timeout(2).when() " + py_when(t.when())); });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"timeout_at(5).when() 5", "timeout(2).when() 3"}));
}

TEST(Timeout, TimeoutAtExpiresAtAnAbsoluteLoopTime) {
  Log log;
  weft::run(
      [&] {
        weft::sleep(1.0);
        guarded(log, [&] { weft::timeout_at(loop_time() + 2, [&] { sleeper(log, 5.0); }); });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"body cancelled at 3", "caught TimeoutError at 3"}));
}

TEST(Timeout, AnInnerScopeExpiringIsCaughtInsideTheOuterWhichContinues) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          std::optional<weft::Timeout> outer_cm, inner_cm;
          weft::timeout(10.0, [&](weft::Timeout& outer) {
            outer_cm = outer;
            try {
              weft::timeout(1.0, [&](weft::Timeout& inner) {
                inner_cm = inner;
                sleeper(log, 5.0);
              });
            } catch (const weft::TimeoutError&) {
              log.add(at("inner timeout"));
            }
            weft::sleep(1.0);
            log.add(at("outer body done"));
          });
          log.add("outer expired " + py_bool(outer_cm->expired()) + ", inner expired " +
                  py_bool(inner_cm->expired()));
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"body cancelled at 1", "inner timeout at 1", "outer body done at 2",
                   "outer expired False, inner expired True", "scope ok at 2"}));
}

TEST(Timeout, TheOuterScopeExpiringWhileTheInnerIsActiveRaisesTheOutersTimeoutError) {
  Log log;
  weft::run(
      [&] {
        std::optional<weft::Timeout> outer_cm, inner_cm;
        guarded(log, [&] {
          weft::timeout(1.0, [&](weft::Timeout& outer) {
            outer_cm = outer;
            try {
              weft::timeout(10.0, [&](weft::Timeout& inner) {
                inner_cm = inner;
                sleeper(log, 5.0);
              });
            } catch (const weft::CancelledError&) {
              log.add(at("inner scope raised CancelledError"));
              throw;
            }
          });
        });
        log.add("outer expired " + py_bool(outer_cm->expired()) + ", inner expired " +
                py_bool(inner_cm->expired()));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"body cancelled at 1", "inner scope raised CancelledError at 1",
                   "caught TimeoutError at 1", "outer expired True, inner expired False"}));
}

TEST(Timeout, ACancellationFromOutsideTheScopeStaysCancelledError) {
  Log log;
  weft::run(
      [&] {
        std::optional<weft::Timeout> cm;
        auto w = weft::create_task([&] {
          guarded(log, [&] {
            weft::timeout(10.0, [&](weft::Timeout& t) {
              cm = t;
              sleeper(log, 5.0);
            });
          });
        });
        weft::sleep(1.0);
        w.cancel();
        weft::await(w);
        log.add("expired " + py_bool(cm->expired()));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"body cancelled at 1", "caught CancelledError at 1", "expired False"}));
}

TEST(Timeout, ACancellationFromOutsideDuringTheExpiryStaysCancelledError) {
  Log log;
  weft::run(
      [&] {
        std::optional<weft::Timeout> cm;
        auto w = weft::create_task([&] {
          guarded(log, [&] {
            weft::timeout(1.0, [&](weft::Timeout& t) {
              cm = t;
              try {
                weft::sleep(5.0);
              } catch (const weft::CancelledError&) {
                log.add(at("body cancelled, cleaning up"));
                sleeper(log, 1.0, "cleanup");  // swallows the timeout's cancellation...
              }
            });
          });
        });
        weft::sleep(1.5);
        w.cancel();  // ...but not this one
        weft::await(w);
        log.add("expired " + py_bool(cm->expired()));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"body cancelled, cleaning up at 1", "cleanup cancelled at 1.5",
                                  "caught CancelledError at 1.5", "expired True"}));
}

TEST(Timeout, CancelCountsBalanceAfterTheScope) {
  Log log;
  weft::run(
      [&] {
        weft::TaskRef me = weft::current_task();
        guarded(log, [&] { weft::timeout(1.0, [] { weft::sleep(5.0); }); });
        log.add("after an expired scope: cancelling " + std::to_string(me.cancelling()));
        guarded(log, [&] { weft::timeout(5.0, [] { weft::sleep(1.0); }); });
        log.add("after a scope in time: cancelling " + std::to_string(me.cancelling()));
        guarded(log,
                [&] { weft::timeout(1.0, [] { weft::timeout(10.0, [] { weft::sleep(5.0); }); }); });
        log.add("after nested scopes: cancelling " + std::to_string(me.cancelling()));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"caught TimeoutError at 1", "after an expired scope: cancelling 0",
                   "scope ok at 2", "after a scope in time: cancelling 0",
                   "caught TimeoutError at 3", "after nested scopes: cancelling 0"}));
}

TEST(Timeout, RescheduleOnAFinishedScopeIsARuntimeError) {
  Log log;
  weft::run(
      [&] {
        std::optional<weft::Timeout> done_in_time, expired_one;
        weft::timeout(1.0, [&](weft::Timeout& t) { done_in_time = t; });
        try {
          done_in_time->reschedule(10.0);
        } catch (const weft::RuntimeError& e) {
          log.add(std::string("RuntimeError: ") + e.what());
        }
        try {
          weft::timeout(1.0, [&](weft::Timeout& t) {
            expired_one = t;
            weft::sleep(5.0);
          });
        } catch (const weft::TimeoutError&) {
        }
        try {
          expired_one->reschedule(10.0);
        } catch (const weft::RuntimeError& e) {
          log.add(std::string("RuntimeError: ") + e.what());
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"RuntimeError: Cannot change state of finished Timeout",
                                  "RuntimeError: Cannot change state of expired Timeout"}));
}

TEST(Timeout, TheTimerOfAScopeThatEndedInTimeNeverFires) {
  Log log;
  weft::run(
      [&] {
        int value = weft::timeout(1.0, [] { return 5; });
        log.add(at("scope returned " + std::to_string(value)));
        sleeper(log, 2.0, "after the scope");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"scope returned 5 at 0", "after the scope done at 2"}));
}

TEST(Timeout, NoDeadlineNeverExpires) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::timeout(std::nullopt, [&](weft::Timeout& t) {
            log.add("when " + py_when(t.when()));
            sleeper(log, 3600.0);
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"when None", "body done at 3600", "scope ok at 3600"}));
}

TEST(Timeout, TheBodysExceptionPropagatesUnchanged) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::timeout(1.0, [] {
            weft::sleep(0.5);
            throw weft::ValueError("boom");
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"caught ValueError: boom at 0.5"}));
}

TEST(Timeout, ADeadlineAlreadyPassedFiresAtTheBodysFirstSuspension) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] { weft::timeout(0.0, [&] { log.add("body without await"); }); });
        guarded(log, [&] { weft::timeout(0.0, [&] { sleeper(log, 1.0); }); });
        guarded(log, [&] { weft::timeout(-1.0, [&] { sleeper(log, 1.0); }); });
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"body without await", "scope ok at 0", "body cancelled at 0",
                   "caught TimeoutError at 0", "body cancelled at 0", "caught TimeoutError at 0"}));
}

TEST(Timeout, AScopeEnteredWithACancellationPendingStillTimesOut) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task([&] {
          try {
            weft::sleep(10.0);
          } catch (const weft::CancelledError&) {
            log.add(
                at("cancelled, cancelling " + std::to_string(weft::current_task().cancelling())));
          }
          try {
            weft::timeout(1.0, [] { weft::sleep(5.0); });
          } catch (const weft::TimeoutError&) {
            log.add(at("TimeoutError, cancelling " +
                       std::to_string(weft::current_task().cancelling())));
          }
        });
        weft::sleep(1.0);
        t.cancel();
        weft::await(t);
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"cancelled, cancelling 1 at 1", "TimeoutError, cancelling 1 at 2"}));
}

// asyncio's Timeout.__aexit__: raise TimeoutError from exc_val -- no message, and the
// CancelledError it replaces as its cause (cpython/shield_wait_for_scenarios.py).
TEST(Timeout, TheTimeoutErrorHasNoMessageAndIsRaisedFromTheCancelledError) {
  Log log;
  weft::run(
      [&] {
        try {
          weft::timeout(0.5, [] { weft::sleep(1.0); });
        } catch (const weft::TimeoutError& e) {
          log.add(std::string("args=(") + e.what() + ") cause: " + name_of(e.cause()));
          try {
            std::rethrow_if_nested(e);
          } catch (const weft::CancelledError&) {
            log.add("std::rethrow_if_nested gives the CancelledError");
          }
        }
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"args=() cause: CancelledError",
                                  "std::rethrow_if_nested gives the CancelledError"}));
}

}  // namespace
