// Generator<Y, S, R>: Python's generator with its own stack -- iteration, send, throw, close, the
// return value (StopIteration.value) and exhaustion.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core_test_support.hpp"

namespace {

using weft_test::WarningCapture;

struct Sentinel {
  bool* destroyed;
  ~Sentinel() { *destroyed = true; }
};

TEST(Generator, RangeForVisitsEveryYieldedValueInOrder) {
  weft::Generator<int> countdown([](auto& yield_) {
    for (int i = 3; i > 0; --i) yield_(i);
  });
  std::vector<int> seen;
  for (int v : countdown) seen.push_back(v);
  EXPECT_EQ(seen, (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(weft::getgeneratorstate(countdown), weft::GEN_CLOSED);
}

TEST(Generator, RangeForOverAGeneratorThatYieldsNothingRunsNoIteration) {
  bool ran = false;
  weft::Generator<int> empty([&](auto&) { ran = true; });
  int iterations = 0;
  for ([[maybe_unused]] int v : empty) ++iterations;
  EXPECT_EQ(iterations, 0);
  EXPECT_TRUE(ran);
}

TEST(Generator, RangeForYieldsMoveOnlyValues) {
  weft::Generator<std::unique_ptr<int>> g([](auto& yield_) {
    for (int i = 0; i < 3; ++i) yield_(std::make_unique<int>(i));
  });
  std::vector<int> seen;
  for (auto& p : g) seen.push_back(*p);
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
}

TEST(Generator, BreakingOutOfRangeForThenDestroyingUnwindsTheGenerator) {
  WarningCapture warnings;
  bool unwound = false;
  {
    weft::Generator<int> naturals([&](auto& yield_) {
      Sentinel sentinel{&unwound};
      for (int i = 0;; ++i) yield_(i);
    });
    for (int v : naturals) {
      if (v == 5) break;
    }
    EXPECT_FALSE(unwound);
    EXPECT_EQ(weft::getgeneratorstate(naturals), weft::GEN_SUSPENDED);
  }
  EXPECT_TRUE(unwound);
  EXPECT_TRUE(warnings.all().empty());  // generators are never "never awaited"
}

TEST(Generator, SendDeliversValuesToTheYieldExpression) {
  // def running_total(): total = 0; while True: total += (yield total) or 0
  weft::Generator<int, int> running_total([](auto& yield_) {
    int total = 0;
    for (;;) {
      std::optional<int> sent = yield_(total);
      total += sent.value_or(0);
    }
  });
  EXPECT_EQ(running_total.send().yielded(), 0);
  EXPECT_EQ(running_total.send(5).yielded(), 5);
  EXPECT_EQ(running_total.send().yielded(), 5);  // next(): yield evaluates to None
  EXPECT_EQ(running_total.send(10).yielded(), 15);
  running_total.close();
}

TEST(Generator, FirstSendWithAValueIsATypeError) {
  weft::Generator<int, int> g([](auto& yield_) { yield_(1); });
  try {
    g.send(3);
    FAIL();
  } catch (const weft::TypeError& e) {
    EXPECT_STREQ(e.what(), "can't send non-None value to a just-started generator");
  }
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CREATED);
  EXPECT_EQ(g.send().yielded(), 1);
  g.close();
}

TEST(Generator, ReturnValueIsTheStepValueWhenTheGeneratorReturns) {
  weft::Generator<int, std::monostate, std::string> g([](auto& yield_) {
    yield_(1);
    return std::string("done");
  });
  EXPECT_EQ(g.send().yielded(), 1);
  auto last = g.send();
  ASSERT_TRUE(last.returned());
  EXPECT_EQ(last.value(), "done");
}

TEST(Generator, AnExhaustedGeneratorReturnsAgainWithNoValue) {
  // CPython: next() on an exhausted generator raises StopIteration whose value is None.
  weft::Generator<int, std::monostate, std::string> g([](auto&) { return std::string("done"); });
  auto first = g.send();
  ASSERT_TRUE(first.returned());
  EXPECT_EQ(first.value(), "done");
  auto again = g.send();
  ASSERT_TRUE(again.returned());
  try {
    again.value();
    FAIL() << "an exhausted generator has no return value left";
  } catch (const weft::InvalidStateError& e) {
    EXPECT_STREQ(e.what(), "the generator was already exhausted");
  }
  EXPECT_TRUE(g.send().returned());
}

TEST(Generator, AnExhaustedVoidGeneratorReturnsAgainWithNoValue) {
  weft::Generator<int> g([](auto& yield_) { yield_(1); });
  for ([[maybe_unused]] int v : g) {
  }
  EXPECT_THROW(g.send().value(), weft::InvalidStateError);
}

TEST(Generator, AClosedGeneratorReturnsWithNoValue) {
  weft::Generator<int> g([](auto& yield_) { yield_(1); });
  g.send();
  g.close();
  auto step = g.send();
  EXPECT_TRUE(step.returned());
  EXPECT_THROW(step.value(), weft::InvalidStateError);
}

TEST(Generator, ThrowCaughtAtTheYieldReturnsTheNextYieldedValue) {
  weft::Generator<std::string> g([](auto& yield_) {
    for (;;) {
      try {
        yield_("ready");
      } catch (const std::runtime_error& e) {
        yield_(std::string("handled ") + e.what());
      }
    }
  });
  g.send();
  EXPECT_EQ(g.throw_(std::runtime_error("oops")).yielded(), "handled oops");
  EXPECT_EQ(g.send().yielded(), "ready");
  g.close();
}

TEST(Generator, ThrowUncaughtPropagatesAndClosesTheGenerator) {
  bool unwound = false;
  weft::Generator<int> g([&](auto& yield_) {
    Sentinel sentinel{&unwound};
    yield_(1);
  });
  g.send();
  EXPECT_THROW(g.throw_(std::range_error("r")), std::range_error);
  EXPECT_TRUE(unwound);
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CLOSED);
}

TEST(Generator, ThrowIntoACreatedGeneratorRaisesAtOnceAndClosesIt) {
  bool ran = false;
  weft::Generator<int> g([&](auto& yield_) {
    ran = true;
    yield_(1);
  });
  EXPECT_THROW(g.throw_(std::range_error("early")), std::range_error);
  EXPECT_FALSE(ran);
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CLOSED);
}

TEST(Generator, ThrowIntoAnExhaustedGeneratorRaisesTheExceptionItself) {
  // CPython: gen.throw(exc) on a finished generator raises exc (a coroutine would say "cannot
  // reuse already awaited coroutine").
  weft::Generator<int> g([](auto&) {});
  g.send();
  EXPECT_THROW(g.throw_(std::range_error("late")), std::range_error);
}

TEST(Generator, CloseRaisesGeneratorExitAtTheYieldAndRunsCleanup) {
  bool saw_generator_exit = false;
  bool unwound = false;
  weft::Generator<int> g([&](auto& yield_) {
    Sentinel sentinel{&unwound};
    try {
      yield_(1);
    } catch (const weft::GeneratorExit&) {
      saw_generator_exit = true;
      throw;
    }
  });
  g.send();
  g.close();
  EXPECT_TRUE(saw_generator_exit);
  EXPECT_TRUE(unwound);
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CLOSED);
  EXPECT_NO_THROW(g.close());  // closing again is silent
}

TEST(Generator, YieldingAfterGeneratorExitThrowsIgnoredGeneratorExit) {
  weft::Generator<int> g([](auto& yield_) {
    try {
      yield_(1);
    } catch (const weft::GeneratorExit&) {
      yield_(2);
    }
  });
  g.send();
  try {
    g.close();
    FAIL();
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "generator ignored GeneratorExit");
  }
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_SUSPENDED);
  g.close();
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CLOSED);
}

TEST(Generator, SendFromInsideItsOwnBodyThrowsGeneratorAlreadyExecuting) {
  weft::Generator<int>* self = nullptr;
  std::string error;
  weft::Generator<int> g([&](auto& yield_) {
    try {
      self->send();
    } catch (const weft::ValueError& e) {
      error = e.what();
    }
    yield_(1);
  });
  self = &g;
  g.send();
  EXPECT_EQ(error, "generator already executing");
  g.close();
}

TEST(Generator, NameDefaultsToGeneratorAndCanBeGiven) {
  weft::Generator<int> anonymous([](auto&) {});
  weft::Generator<int> named([](auto&) {}, "ticks");
  EXPECT_EQ(anonymous.name(), "<generator>");
  EXPECT_EQ(named.name(), "ticks");
}

TEST(Generator, AMovedFromGeneratorThrowsRuntimeErrorInsteadOfCrashing) {
  weft::Generator<int> g([](auto& yield_) { yield_(1); });
  weft::Generator<int> moved = std::move(g);
  EXPECT_FALSE(static_cast<bool>(g));  // NOLINT(bugprone-use-after-move): checking it
  EXPECT_THROW(g.send(), weft::RuntimeError);
  EXPECT_THROW(g.close(), weft::RuntimeError);
  EXPECT_THROW(weft::getgeneratorstate(g), weft::RuntimeError);
  EXPECT_EQ(moved.send().yielded(), 1);
  moved.close();
}

TEST(Generator, SuspendingOrAwaitingInsideAGeneratorIsARuntimeError) {
  // Its driver expects a Y from every suspension; an await would hand it something else.
  std::string suspend_error;
  std::string await_error;
  weft::Generator<int> g([&](auto& yield_) {
    try {
      weft::suspend(std::string("not an int"));
    } catch (const weft::RuntimeError& e) {
      suspend_error = e.what();
    }
    try {
      weft::await(weft_test::Dummy{1});
    } catch (const weft::RuntimeError& e) {
      await_error = e.what();
    }
    yield_(7);
  });
  EXPECT_EQ(g.send().yielded(), 7);
  EXPECT_NE(suspend_error.find("cannot suspend or await inside a generator"), std::string::npos)
      << suspend_error;
  EXPECT_NE(await_error.find("cannot suspend or await inside a generator"), std::string::npos)
      << await_error;
  g.close();
}

TEST(Generator, AGeneratorCanBeDrivenFromInsideACoroutine) {
  auto c = weft::coro([] {
    weft::Generator<int> squares([](auto& yield_) {
      for (int i = 1; i <= 4; ++i) yield_(i * i);
    });
    int sum = 0;
    for (int v : squares) {
      sum += v;
      weft::suspend(v);  // the coroutine suspends between the generator's steps
    }
    return sum;
  });
  std::vector<int> relayed;
  for (auto step = c.send(); step.suspended(); step = c.send()) {
    relayed.push_back(std::any_cast<int>(step.yielded()));
  }
  EXPECT_EQ(relayed, (std::vector<int>{1, 4, 9, 16}));
}

TEST(Generator, AnExceptionFromTheBodyPropagatesOutOfRangeFor) {
  weft::Generator<int> g([](auto& yield_) {
    yield_(1);
    throw std::overflow_error("mid-iteration");
  });
  std::vector<int> seen;
  EXPECT_THROW(
      {
        for (int v : g) seen.push_back(v);
      },
      std::overflow_error);
  EXPECT_EQ(seen, (std::vector<int>{1}));
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CLOSED);
}

}  // namespace
