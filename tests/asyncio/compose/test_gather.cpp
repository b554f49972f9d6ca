// gather: coroutines become tasks; results in argument order (a tuple, or a vector for a range);
// the first exception propagates and the other children keep running; return_exceptions makes
// errors results; cancelling the awaiting task cancels the children not done; a cancelled child
// is a CancelledError that does not cancel the gather; the gather's own cancellation propagates
// whatever return_exceptions says.
// Each scenario logs what tests/asyncio/compose/cpython/gather_scenarios.py prints.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::after;
using weft_compose_test::at;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;
using weft_compose_test::state_of;

weft::Coroutine<int> fail_after(double delay, std::string message) {
  return weft::coro([delay, message]() -> int {
    weft::sleep(delay);
    throw weft::ValueError(message);
  });
}

TEST(Gather, CoroutinesAreWrappedInTasksThatRunConcurrently) {
  Log log;
  weft::run(
      [&] {
        weft::TaskRef main = weft::current_task();
        auto child = [&](std::string name) {
          return weft::coro([&log, main, name] {
            log.add(name + " in own task: " + (weft::current_task() == main ? "False" : "True"));
            weft::sleep(1.0);
            return name;
          });
        };
        auto [a, b] = weft::gather(child("a"), child("b"));
        log.add(at("gathered ['" + a + "', '" + b + "']"));  // at 1, not 2: concurrently
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"a in own task: True", "b in own task: True", "gathered ['a', 'b'] at 1"}));
}

TEST(Gather, HeterogeneousResultsComeAsATupleInArgumentOrder) {
  Log log;
  weft::run(
      [&] {
        auto [a, b, c] =
            weft::gather(after(log, "a", 3.0, 1), after(log, "b", 1.0, std::string("two")),
                         after(log, "c", 2.0, 3.5));
        static_assert(std::is_same_v<decltype(a), int>);
        static_assert(std::is_same_v<decltype(b), std::string>);
        std::ostringstream text;
        text << "results " << a << " " << b << " " << c;
        log.add(at(text.str()));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"a start at 0", "b start at 0", "c start at 0", "b end at 1",
                                  "c end at 2", "a end at 3", "results 1 two 3.5 at 3"}));
}

TEST(Gather, ARangeGivesAVectorInArgumentOrder) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<int>> tasks;
        int i = 0;
        for (double delay : {3.0, 1.0, 2.0}) {
          tasks.push_back(weft::create_task(after(log, std::to_string(i), delay, i)));
          ++i;
        }
        std::vector<int> results = weft::gather(tasks);
        log.add(at("results [" + std::to_string(results[0]) + ", " + std::to_string(results[1]) +
                   ", " + std::to_string(results[2]) + "]"));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"0 start at 0", "1 start at 0", "2 start at 0", "1 end at 1",
                                  "2 end at 2", "0 end at 3", "results [0, 1, 2] at 3"}));
}

TEST(Gather, AnEmptyRangeReturnsAnEmptyVector) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<int>> none;
        std::vector<int> results = weft::gather(none);
        log.add(at("returned [] size " + std::to_string(results.size())));
        auto outcomes = weft::gather(weft::return_exceptions, none);
        log.add(at("outcomes size " + std::to_string(outcomes.size())));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"returned [] size 0 at 0", "outcomes size 0 at 0"}));
}

TEST(Gather, TheFirstExceptionPropagatesAndTheOthersKeepRunning) {
  Log log;
  weft::run(
      [&] {
        auto b = weft::create_task(after(log, "b", 2.0, 2));
        auto c = weft::create_task(after(log, "c", 3.0, 3));
        try {
          weft::gather(b, c, fail_after(1.0, "boom"));
          log.add("no exception");
        } catch (...) {
          log.add(at("caught " + name_of(std::current_exception())));
        }
        log.add(std::string("b done: ") + (b.done() ? "True" : "False") +
                ", c done: " + (c.done() ? "True" : "False"));
        int vb = weft::await(b);
        int vc = weft::await(c);
        log.add(at("b " + std::to_string(vb) + ", c " + std::to_string(vc)));
        log.add("b " + state_of(b) + ", c " + state_of(c));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"b start at 0", "c start at 0", "caught ValueError: boom at 1",
                                  "b done: False, c done: False", "b end at 2", "c end at 3",
                                  "b 2, c 3 at 3", "b ok, c ok"}));
}

TEST(Gather, LaterExceptionsAreMarkedRetrieved) {
  // Control: a failed task nobody looks at is reported when it is destroyed...
  {
    weft_compose_test::WarningCapture warnings;
    weft::run(
        [] {
          weft::create_task(fail_after(1.0, "lost"));
          weft::sleep(2.0);
        },
        deterministic());
    ASSERT_EQ(warnings.all().size(), 1u);
    EXPECT_NE(warnings.all()[0].message.find("never retrieved"), std::string::npos);
  }
  // ...but the gather looks at the failures that come after the first one it propagated.
  Log log;
  weft_compose_test::WarningCapture warnings;
  weft::run(
      [&] {
        try {
          weft::gather(fail_after(1.0, "first"), fail_after(2.0, "second"));
        } catch (...) {
          log.add(at("caught " + name_of(std::current_exception())));
        }
        weft::sleep(2.0);
      },
      deterministic());
  log.add("reports: " + std::to_string(warnings.all().size()));
  EXPECT_EQ(log.entries(), (Lines{"caught ValueError: first at 1", "reports: 0"}));
}

TEST(Gather, ReturnExceptionsMakesErrorsResults) {
  Log log;
  weft::run(
      [&] {
        auto victim = weft::create_task(after(log, "victim", 5.0, 0));
        weft::get_running_loop().call_later(2.0, [victim]() mutable { victim.cancel(); });
        auto [a, failed, cancelled] = weft::gather(weft::return_exceptions, after(log, "a", 3.0, 1),
                                                   fail_after(1.0, "boom"), victim);
        auto show = [](const weft::Outcome<int>& o) {
          return o.has_value() ? "value " + std::to_string(o.value()) : name_of(o.exception());
        };
        log.add(at(show(a) + ", " + show(failed) + ", " + show(cancelled)));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"victim start at 0", "a start at 0", "a end at 3",
                                  "value 1, ValueError: boom, CancelledError at 3"}));
}

TEST(Gather, ReturnExceptionsOverARangeGivesAVectorOfOutcomes) {
  Log log;
  weft::run(
      [&] {
        std::vector<weft::Task<int>> tasks;
        tasks.push_back(weft::create_task(after(log, "a", 3.0, 1)));
        tasks.push_back(weft::create_task(fail_after(1.0, "boom")));
        tasks.push_back(weft::create_task(after(log, "victim", 5.0, 0)));
        weft::get_running_loop().call_later(2.0,
                                            [victim = tasks[2]]() mutable { victim.cancel(); });
        std::vector<weft::Outcome<int>> outcomes = weft::gather(weft::return_exceptions, tasks);
        std::string text;
        for (auto& o : outcomes) {
          text += (text.empty() ? "" : ", ") +
                  (o.has_value() ? "value " + std::to_string(o.value()) : name_of(o.exception()));
        }
        log.add(at(text));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"a start at 0", "victim start at 0", "a end at 3",
                                  "value 1, ValueError: boom, CancelledError at 3"}));
}

TEST(Gather, CancellingTheAwaitingTaskCancelsTheChildrenNotDone) {
  Log log;
  weft::run(
      [&] {
        auto child = [&](std::string name, double delay) {
          return weft::create_task(weft::coro([&log, name, delay] {
            try {
              weft::sleep(delay);
              log.add(at(name + " done"));
            } catch (const weft::CancelledError&) {
              log.add(at(name + " cancelled"));
              throw;
            }
          }));
        };
        auto a = child("a", 1.0);
        auto b = child("b", 10.0);
        auto c = child("c", 10.0);
        auto w = weft::create_task([&, a, b, c] {
          try {
            weft::gather(a, b, c);
          } catch (const weft::CancelledError&) {
            log.add(at("awaiter cancelled"));
            throw;
          }
        });
        weft::sleep(2.0);
        w.cancel();
        weft::sleep(0.5);
        log.add("a " + state_of(a) + ", b " + state_of(b) + ", c " + state_of(c) + ", awaiter " +
                state_of(w));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"a done at 1", "b cancelled at 2", "c cancelled at 2", "awaiter cancelled at 2",
                   "a ok, b CancelledError, c CancelledError, awaiter CancelledError"}));
}

TEST(Gather, ACancelledChildIsACancelledErrorThatDoesNotCancelTheGather) {
  Log log;
  weft::run(
      [&] {
        auto a = weft::create_task(after(log, "a", 1.0, 1));
        auto b = weft::create_task(after(log, "b", 10.0, 2));
        auto c = weft::create_task(after(log, "c", 3.0, 3));
        auto w = weft::create_task([&, a, b, c]() -> std::string {
          try {
            weft::gather(a, b, c);
            return "not cancelled";
          } catch (const weft::CancelledError&) {
            log.add(at("awaiter got CancelledError, cancelling=" +
                       std::to_string(weft::current_task().cancelling())));
            return "survived";
          }
        });
        weft::sleep(2.0);
        b.cancel();
        log.add(at("awaiter " + weft::await(w)));
        weft::sleep(2.0);
        log.add("a " + state_of(a) + ", b " + state_of(b) + ", c " + state_of(c));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"a start at 0", "b start at 0", "c start at 0", "a end at 1",
                   "awaiter got CancelledError, cancelling=0 at 2", "awaiter survived at 2",
                   "c end at 3", "a ok, b CancelledError, c ok"}));
}

TEST(Gather, ItsOwnCancellationPropagatesWhateverReturnExceptionsSays) {
  Log log;
  weft::run(
      [&] {
        // b swallows the cancellation and returns: the gather raises CancelledError anyway.
        auto child = [&](std::string name, bool swallow) {
          return weft::coro([&log, name, swallow]() -> std::string {
            try {
              weft::sleep(10.0);
            } catch (const weft::CancelledError&) {
              log.add(at(name + " cancelled"));
              if (swallow) return name;
              throw;
            }
            return "slept";
          });
        };
        auto w = weft::create_task([&] {
          try {
            auto r = weft::gather(weft::return_exceptions, child("a", false), child("b", true));
            log.add("awaiter got results " + std::to_string(std::tuple_size_v<decltype(r)>));
          } catch (const weft::CancelledError&) {
            log.add(at("awaiter CancelledError"));
            throw;
          }
        });
        weft::sleep(1.0);
        w.cancel();
        try {
          weft::await(w);
        } catch (const weft::CancelledError&) {
        }
        log.add("awaiter " + state_of(w));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"a cancelled at 1", "b cancelled at 1",
                                  "awaiter CancelledError at 1", "awaiter CancelledError"}));
}

TEST(Gather, TheSameTaskTwiceGivesItsResultTwice) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task(after(log, "t", 1.0, 7));
        auto u = weft::create_task(after(log, "u", 2.0, 8));
        auto [x, y, z] = weft::gather(t, u, t);
        log.add(at("results [" + std::to_string(x) + ", " + std::to_string(y) + ", " +
                   std::to_string(z) + "]"));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"t start at 0", "u start at 0", "t end at 1", "u end at 2",
                                  "results [7, 8, 7] at 2"}));
}

// The gather cannot cancel a child (all ended; its callbacks are still queued): the awaiter keeps
// waiting for the gather, then raises CancelledError; nothing is left unretrieved.
TEST(Gather, CancellingTheAwaiterAfterEveryChildEndedRaisesCancelledErrorAndLosesNothing) {
  Log log;
  weft_compose_test::WarningCapture warnings;
  weft::run(
      [&] {
        auto a = weft::create_task([]() -> int { throw weft::ValueError("boom"); });
        auto w = weft::create_task([a] { return weft::gather(a); });
        weft::sleep(0);
        log.add(std::string("a done: ") + (a.done() ? "True" : "False") +
                ", w done: " + (w.done() ? "True" : "False"));
        log.add(std::string("cancel accepted: ") + (w.cancel() ? "True" : "False"));
        try {
          weft::await(w);
        } catch (const weft::CancelledError&) {
          log.add("awaiter CancelledError");
        }
        log.add("a " + state_of(a) + ", w " + state_of(w));
      },
      deterministic());
  log.add("reports: " + std::to_string(warnings.all().size()));
  EXPECT_EQ(log.entries(),
            (Lines{"a done: True, w done: False", "cancel accepted: True", "awaiter CancelledError",
                   "a ValueError: boom, w CancelledError", "reports: 0"}));
}

// ---- gather_future: gather as a future (cpython/gather_future_scenarios.py, .out beside it)

weft::Coroutine<std::string> after_s(double delay, std::string value) {
  return weft::coro([delay, value] {
    weft::sleep(delay);
    return value;
  });
}

std::string py_bool(bool b) {
  return b ? "True" : "False";
}

TEST(GatherFuture, HeldAndAwaitedLater) {
  Log log;
  weft::run(
      [&] {
        auto g = weft::gather_future(after_s(1, "a"), after_s(2, "b"));
        log.add("pending: " + py_bool(g.done()) + " " + py_bool(g.cancelled()));
        weft::sleep(3);
        auto [a, b] = g.result();
        log.add("done before the await: " + py_bool(g.done()) + " " + py_bool(g.cancelled()) + " " +
                (g.exception() ? "exception" : "None") + " ['" + a + "', '" + b + "']");
        auto [a2, b2] = weft::await(g);
        log.add(at("awaited: ['" + a2 + "', '" + b2 + "']"));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"pending: False False", "done before the await: True False None ['a', 'b']",
                   "awaited: ['a', 'b'] at 3"}));
}

TEST(GatherFuture, CancelWhileChildrenRunCancelsThemAndFinishesWithCancelledError) {
  Log log;
  weft::run(
      [&] {
        auto a = weft::create_task(after_s(1, "a"));
        auto b = weft::create_task(after_s(2, "b"));
        auto g = weft::gather_future(a, b);
        weft::sleep(0);
        log.add("cancel: " + py_bool(g.cancel("stop")));
        try {
          weft::await(g);
        } catch (const weft::CancelledError& e) {
          log.add(at("await raised CancelledError('" + e.message() + "',)"));
        }
        log.add("children cancelled: " + py_bool(a.cancelled()) + " " + py_bool(b.cancelled()));
        log.add("gather done: " + py_bool(g.done()) + " cancelled: " + py_bool(g.cancelled()) +
                " exception: " + name_of(g.exception()));
        log.add("cancel once done: " + py_bool(g.cancel()));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"cancel: True", "await raised CancelledError('stop',) at 0",
                                  "children cancelled: True True",
                                  "gather done: True cancelled: False exception: CancelledError",
                                  "cancel once done: False"}));
}

TEST(GatherFuture, ACancelledChildFinishesTheGatherWithItsCancelledError) {
  Log log;
  weft::run(
      [&] {
        auto a = weft::create_task(after_s(1, "a"));
        auto b = weft::create_task(after_s(2, "b"));
        auto g = weft::gather_future(a, b);
        weft::sleep(0);
        a.cancel("child");
        weft::sleep(0);
        weft::sleep(0);
        std::string message;
        try {
          std::rethrow_exception(g.exception());
        } catch (const weft::CancelledError& e) {
          message = e.message();
        }
        log.add("done: " + py_bool(g.done()) + " cancelled: " + py_bool(g.cancelled()) +
                " exception: CancelledError('" + message + "')");
        log.add("b still running: " + py_bool(!b.done()));
        log.add(at("b: " + weft::await(b)));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"done: True cancelled: False exception: CancelledError('child')",
                                  "b still running: True", "b: b at 2"}));
}

TEST(GatherFuture, ReturnExceptionsGivesOutcomes) {
  Log log;
  weft::run(
      [&] {
        auto fail = weft::coro([]() -> std::string {
          weft::sleep(1);
          throw weft::ValueError("boom");
        });
        auto g = weft::gather_future(weft::return_exceptions, after_s(2, "a"), std::move(fail));
        weft::await(g);
        auto& [a, f] = g.result();
        log.add(at("result: ['" + a.value() + "', " + name_of(f.exception()) + "]"));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"result: ['a', ValueError: boom] at 2"}));
}

TEST(GatherFuture, AShieldedGatherOutlivesTheCancelledWaiter) {
  Log log;
  weft::run(
      [&] {
        auto g = weft::gather_future(after_s(1, "a"), after_s(2, "b"));
        auto w = weft::create_task([g] { return weft::await(weft::shield(g)); });
        weft::sleep(0);
        w.cancel();
        try {
          weft::await(w);
        } catch (const weft::CancelledError&) {
          log.add(at("waiter cancelled"));
        }
        bool running = !g.done();
        auto [a, b] = weft::await(g);
        log.add(
            at("gather still runs: " + py_bool(running) + "; gathered ['" + a + "', '" + b + "']"));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"waiter cancelled at 0", "gather still runs: True; gathered ['a', 'b'] at 2"}));
}

TEST(GatherFuture, AGatherOfShieldsLeavesTheChildrenRunning) {
  Log log;
  weft::run(
      [&] {
        auto a = weft::create_task(after_s(1, "a"));
        auto b = weft::create_task(after_s(2, "b"));
        auto g = weft::gather_future(weft::shield(a), weft::shield(b));
        weft::sleep(0);
        log.add("cancel: " + py_bool(g.cancel()));
        try {
          weft::await(g);
        } catch (const weft::CancelledError&) {
          log.add(at("gather raised CancelledError"));
        }
        std::string ra = weft::await(a);
        std::string rb = weft::await(b);
        log.add(at("the shielded children run on: " + ra + ", " + rb));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"cancel: True", "gather raised CancelledError at 0",
                                  "the shielded children run on: a, b at 2"}));
}

TEST(GatherFuture, ARangeGivesAFutureOfAVectorAndAnEmptyRangeIsDoneAtOnce) {
  weft::run(
      [] {
        std::vector<weft::Coroutine<std::string>> work;
        work.push_back(after_s(2, "x"));
        work.push_back(after_s(1, "y"));
        auto g = weft::gather_future(work);
        static_assert(std::is_same_v<decltype(g), weft::Future<std::vector<std::string>>>);
        EXPECT_EQ(weft::await(g), (std::vector<std::string>{"x", "y"}));
        std::vector<weft::Task<int>> none;
        auto empty = weft::gather_future(none);
        EXPECT_TRUE(empty.done());
        EXPECT_TRUE(empty.result().empty());
      },
      deterministic());
}

// On several workers: cancel() of the gather while its children run on other workers; it ends
// done (not cancelled) with CancelledError when it accepted the cancel, with the results when
// it did not, and every child ends (cancelled, or done first).
TEST(GatherFuture, CancelRacingChildrenOnOtherWorkersStress) {
  for (long round = 0; round < weft_compose_test::scaled(300); ++round) {
    weft::run(
        [] {
          std::vector<weft::Task<int>> children;
          for (int i = 0; i < 4; ++i) {
            children.push_back(weft::create_task([i] {
              for (int k = 0; k < i; ++k) weft::sleep(0);
              return i;
            }));
          }
          auto g = weft::gather_future(children);
          bool accepted = g.cancel();
          try {
            weft::await(g);
            EXPECT_FALSE(accepted) << "a cancel the gather accepted must raise CancelledError";
          } catch (const weft::CancelledError&) {
            EXPECT_TRUE(accepted);
            EXPECT_FALSE(g.cancelled()) << "asyncio: the gather finishes with the error";
          }
          // asyncio ends the gather at the first cancelled child; the others end soon after.
          for (auto& c : children) {
            try {
              weft::await(c);
            } catch (const weft::CancelledError&) {
            }
            EXPECT_TRUE(c.done());
          }
        },
        weft::RunOptions{.workers = 4});
  }
}

}  // namespace
