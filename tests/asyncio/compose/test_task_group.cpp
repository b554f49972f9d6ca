// TaskGroup: the tasks are awaited when the scope ends (those added while it ends too); the first
// failure cancels the other children (their CancelledError handlers run) and the parent's body;
// every failure comes back in one ExceptionGroup (the body's own exception last); a child
// cancelled on its own is no failure; create_task is refused once the group is finished or
// shutting down; the parent's cancelling() is back to 0 after the group handled a failure;
// cancelling the parent cancels the children and propagates CancelledError.
// Each scenario logs what tests/asyncio/compose/cpython/task_group_scenarios.py prints.
#include <gtest/gtest.h>

#include <algorithm>
#include <exception>
#include <string>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::at;
using weft_compose_test::Boom;
using weft_compose_test::deterministic;
using weft_compose_test::Lines;
using weft_compose_test::Log;
using weft_compose_test::name_of;
using weft_compose_test::state_of;

// Sleeps `delay`, then returns `value` (logging "<name> done") or raises `fail` (logging
// "<name> fails"); cancelled, it logs "<name> cancelled" and re-raises, or raises `on_cancel`.
weft::Coroutine<int> child(Log& log, std::string name, double delay, int value = 0,
                           std::exception_ptr fail = nullptr,
                           std::exception_ptr on_cancel = nullptr) {
  return weft::coro([&log, name, delay, value, fail, on_cancel] {
    try {
      weft::sleep(delay);
    } catch (const weft::CancelledError&) {
      log.add(at(name + " cancelled"));
      if (on_cancel) std::rethrow_exception(on_cancel);
      throw;
    }
    if (fail) {
      log.add(at(name + " fails"));
      std::rethrow_exception(fail);
    }
    log.add(at(name + " done"));
    return value;
  });
}

std::exception_ptr boom(const std::string& what = "boom") {
  return std::make_exception_ptr(Boom(what));
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

// Siblings are cancelled in an order asyncio leaves open (its tasks are a set): the log lines
// [first, last) sorted, so that the test compares them as a set.
Lines sorted_between(Lines lines, std::size_t first, std::size_t last) {
  last = std::min(last, lines.size());
  if (first < last) std::sort(lines.begin() + first, lines.begin() + last);
  return lines;
}

TEST(TaskGroup, TheTasksAreAwaitedWhenTheScopeEnds) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::Task<int> a, b;
          weft::task_group([&](weft::TaskGroup& tg) {
            a = tg.create_task(child(log, "a", 1.0, 1));
            b = tg.create_task(child(log, "b", 2.0, 2));
            log.add(at("body end"));
          });
          log.add(at("results " + std::to_string(a.result()) + " " + std::to_string(b.result())));
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"body end at 0", "a done at 1", "b done at 2", "results 1 2 at 2",
                                  "scope ok at 2"}));
}

TEST(TaskGroup, TheBodysValueIsReturned) {
  int value = 0;
  weft::run(
      [&] {
        value = weft::task_group([](weft::TaskGroup& tg) {
          auto t = tg.create_task([] { return 20; });
          return 22 + weft::await(t);
        });
      },
      deterministic());
  EXPECT_EQ(value, 42);
}

TEST(TaskGroup, TheFirstFailureCancelsTheOtherChildren) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 1.0, 0, boom()));
            tg.create_task(child(log, "b", 10.0));
            tg.create_task(child(log, "c", 10.0));
          });
        });
      },
      deterministic());
  EXPECT_EQ(sorted_between(log.entries(), 1, 3),
            (Lines{"a fails at 1", "b cancelled at 1", "c cancelled at 1",
                   "caught ExceptionGroup: [RuntimeError: boom] at 1"}));
}

TEST(TaskGroup, TheFirstFailureCancelsTheParentsBody) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 1.0, 0, boom()));
            weft::await(child(log, "body", 10.0));
          });
        });
        log.add("cancelling " + std::to_string(weft::current_task().cancelling()));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"a fails at 1", "body cancelled at 1",
                   "caught ExceptionGroup: [RuntimeError: boom] at 1", "cancelling 0"}));
}

TEST(TaskGroup, TwoChildrenFailingGiveTwoExceptions) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 1.0, 0, boom("a")));
            tg.create_task(child(log, "b", 1.0, 0, boom("b")));
            tg.create_task(child(log, "c", 10.0));
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"a fails at 1", "b fails at 1", "c cancelled at 1",
                   "caught ExceptionGroup: [RuntimeError: a, RuntimeError: b] at 1"}));
}

TEST(TaskGroup, AFailureInACancellationHandlerJoinsTheGroup) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 1.0, 0, boom()));
            tg.create_task(child(log, "b", 10.0, 0, nullptr,
                                 std::make_exception_ptr(weft::ValueError("cleanup failed"))));
          });
        });
      },
      deterministic());
  EXPECT_EQ(
      log.entries(),
      (Lines{"a fails at 1", "b cancelled at 1",
             "caught ExceptionGroup: [RuntimeError: boom, ValueError: cleanup failed] at 1"}));
}

TEST(TaskGroup, TheBodysExceptionIsInTheGroupAndTheChildrenAreCancelled) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 10.0));
            weft::sleep(1.0);
            throw weft::ValueError("body");
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"a cancelled at 1", "caught ExceptionGroup: [ValueError: body] at 1"}));
}

TEST(TaskGroup, TheBodysExceptionComesAfterTheChildrens) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 10.0, 0, nullptr, boom("a cleanup")));
            weft::sleep(1.0);
            throw weft::ValueError("body");
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"a cancelled at 1",
                   "caught ExceptionGroup: [RuntimeError: a cleanup, ValueError: body] at 1"}));
}

TEST(TaskGroup, CreateTaskAfterTheGroupFinishedIsARuntimeError) {
  Log log;
  weft::run(
      [&] {
        // The scope by hand (`async with tg:`), so that the group outlives it.
        weft::TaskGroup tg;
        tg.enter();
        tg.create_task(child(log, "a", 1.0));
        tg.exit(nullptr);
        try {
          tg.create_task([] { return 0; });
          log.add("accepted");
        } catch (const weft::RuntimeError& e) {
          log.add(std::string("RuntimeError: ") + e.what());
        }
      },
      deterministic());
  // CPython: "TaskGroup <TaskGroup entered> is finished"; weft's advice follows it.
  EXPECT_EQ(log.entries(), (Lines{"a done at 1",
                                  "RuntimeError: TaskGroup <TaskGroup entered> is finished: its "
                                  "scope has ended; create the task in another group, or with "
                                  "weft::create_task"}));
}

TEST(TaskGroup, CreateTaskWhileShuttingDownIsARuntimeError) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 1.0, 0, boom()));
            try {
              weft::sleep(10.0);
            } catch (const weft::CancelledError&) {
              try {
                tg.create_task([] { return 0; });
                log.add("accepted");
              } catch (const weft::RuntimeError& e) {
                log.add(at(std::string("RuntimeError: ") + e.what()));
              }
              throw;
            }
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"a fails at 1",
                                  "RuntimeError: TaskGroup <TaskGroup errors=1 cancelling> is "
                                  "shutting down: a task of the group failed (or it was "
                                  "cancelled) and it is cancelling the rest at 1",
                                  "caught ExceptionGroup: [RuntimeError: boom] at 1"}));
}

// Follows later CPython (LaterTaskGroup in the Python scenario): stock 3.11 leaves 1 here.
TEST(TaskGroup, TheParentsCancellingIsBackToZeroAfterTheGroupHandledAFailure) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "a", 1.0, 0, boom()));
            tg.create_task(child(log, "b", 10.0));
            log.add(at("body end"));  // the failure comes while the parent waits in the exit
          });
        });
        log.add("cancelling " + std::to_string(weft::current_task().cancelling()));
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"body end at 0", "a fails at 1", "b cancelled at 1",
                   "caught ExceptionGroup: [RuntimeError: boom] at 1", "cancelling 0"}));
}

TEST(TaskGroup, CancellingTheParentInTheBodyCancelsTheChildrenAndPropagates) {
  Log log;
  weft::run(
      [&] {
        auto w = weft::create_task([&] {
          guarded(log, [&] {
            weft::task_group([&](weft::TaskGroup& tg) {
              tg.create_task(child(log, "a", 10.0));
              tg.create_task(child(log, "b", 10.0));
              weft::await(child(log, "body", 10.0));
            });
          });
        });
        weft::sleep(1.0);
        w.cancel();
        weft::await(w);
      },
      deterministic());
  EXPECT_EQ(sorted_between(log.entries(), 1, 3),
            (Lines{"body cancelled at 1", "a cancelled at 1", "b cancelled at 1",
                   "caught CancelledError at 1"}));
}

TEST(TaskGroup, CancellingTheParentWhileItWaitsForTheChildrenCancelsThemAndPropagates) {
  Log log;
  weft::run(
      [&] {
        auto w = weft::create_task([&] {
          try {
            weft::task_group([&](weft::TaskGroup& tg) {
              tg.create_task(child(log, "a", 10.0));
              log.add(at("body end"));
            });
          } catch (const weft::CancelledError&) {
            log.add(at("parent CancelledError"));
            throw;
          }
        });
        weft::sleep(1.0);
        w.cancel();
        try {
          weft::await(w);
        } catch (const weft::CancelledError&) {
        }
        log.add("parent " + state_of(w));
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"body end at 0", "a cancelled at 1", "parent CancelledError at 1",
                                  "parent CancelledError"}));
}

TEST(TaskGroup, AChildCancelledOnItsOwnIsNoFailure) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            auto a = tg.create_task(child(log, "a", 10.0));
            tg.create_task(child(log, "b", 2.0));
            weft::get_running_loop().call_later(1.0, [a]() mutable { a.cancel(); });
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"a cancelled at 1", "b done at 2", "scope ok at 2"}));
}

TEST(TaskGroup, TasksAddedWhileTheScopeEndsAreAwaitedToo) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task([&] {
              weft::sleep(1.0);
              tg.create_task(child(log, "late", 1.0));
              log.add(at("spawned"));
            });
            log.add(at("body end"));
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(),
            (Lines{"body end at 0", "spawned at 1", "late done at 2", "scope ok at 2"}));
}

// asyncio 3.14: TaskGroup.create_task passes eager_start on. A child that fails in its first,
// eager, step is done before create_task returns and still fails the group, which cancels the
// rest. Since gh-128550 (3.14, and 3.13.2 / 3.12.9) the group's done callback on a task that is
// done already is scheduled, not called at once, so c (queued before it) starts first and is then
// cancelled; 3.13.0 called it at once and cancelled c before its first step
// (cpython/task_group_eager_scenarios.py and its .out).
TEST(TaskGroup, AnEagerChildThatFailsAtOnceStillFailsTheGroup) {
  Log log;
  weft::run(
      [&] {
        guarded(log, [&] {
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task(child(log, "c", 10.0));
            auto eager = tg.create_task([]() -> int { throw std::runtime_error("eager"); },
                                        {.eager_start = true});
            log.add(std::string("eager done on return: ") + (eager.done() ? "True" : "False"));
          });
        });
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Lines{"eager done on return: True", "c cancelled at 0",
                                  "caught ExceptionGroup: [RuntimeError: eager] at 0"}));
}

}  // namespace
