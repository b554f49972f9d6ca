// coroutine.send(value): starts or resumes the body, returns what it suspended with, or reports
// its return (Python's StopIteration carrying the value).
#include <gtest/gtest.h>

#include <any>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core_test_support.hpp"

namespace {

using weft_test::yielded_as;

TEST(CoroutineSend, CreatingACoroutineRunsNothing) {
  bool ran = false;
  auto c = weft::coro([&] { ran = true; });
  EXPECT_FALSE(ran);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CREATED);
  c.close();  // not driven on purpose: no never-awaited report
}

TEST(CoroutineSend, FirstSendRunsTheBodyUntilItSuspendsAndReturnsTheSuspendedValue) {
  std::vector<std::string> log;
  auto c = weft::coro([&] {
    log.push_back("before");
    weft::suspend(std::string("first"));
    log.push_back("after");
  });
  auto step = c.send();
  ASSERT_TRUE(step.suspended());
  EXPECT_FALSE(step.returned());
  EXPECT_EQ(yielded_as<std::string>(step), "first");
  EXPECT_EQ(log, std::vector<std::string>{"before"});
  c.close();
  EXPECT_EQ(log, std::vector<std::string>{"before"});  // close does not run the rest
}

TEST(CoroutineSend, SendResumesAfterTheSuspensionPointAndReturnsTheNextSuspendedValue) {
  std::vector<int> log;
  auto c = weft::coro([&] {
    log.push_back(1);
    weft::suspend(10);
    log.push_back(2);
    weft::suspend(20);
    log.push_back(3);
  });
  auto first = c.send();
  EXPECT_EQ(yielded_as<int>(first), 10);
  EXPECT_EQ(log, (std::vector<int>{1}));
  auto second = c.send();
  EXPECT_EQ(yielded_as<int>(second), 20);
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  auto last = c.send();
  EXPECT_TRUE(last.returned());
  EXPECT_EQ(log, (std::vector<int>{1, 2, 3}));
}

TEST(CoroutineSend, SentValueBecomesTheResultOfSuspend) {
  std::vector<int> received;
  auto c = weft::coro([&] {
    for (int i = 0; i < 3; ++i) received.push_back(std::any_cast<int>(weft::suspend(i)));
  });
  c.send();
  c.send(100);
  c.send(200);
  auto step = c.send(300);
  EXPECT_TRUE(step.returned());
  EXPECT_EQ(received, (std::vector<int>{100, 200, 300}));
}

TEST(CoroutineSend, SendWithoutAValueResumesSuspendWithNone) {
  bool got_none = false;
  auto c = weft::coro([&] { got_none = !weft::suspend(1).has_value(); });
  c.send();
  c.send();
  EXPECT_TRUE(got_none);
}

TEST(CoroutineSend, SuspendWithoutAValueHandsTheDriverNone) {
  auto c = weft::coro([] { weft::suspend(); });
  auto step = c.send();
  ASSERT_TRUE(step.suspended());
  EXPECT_FALSE(step.yielded().has_value());
  c.close();
}

TEST(CoroutineSend, ReturnIsReportedAsReturnedWithTheValue) {
  auto c = weft::coro([] {
    weft::suspend();
    return 42;
  });
  EXPECT_TRUE(c.send().suspended());
  auto step = c.send();
  ASSERT_TRUE(step.returned());
  EXPECT_FALSE(step.suspended());
  EXPECT_EQ(step.value(), 42);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineSend, BodyThatNeverSuspendsReturnsOnTheFirstSend) {
  auto c = weft::coro([](int a, int b) { return a + b; }, 40, 2);
  auto step = c.send();
  ASSERT_TRUE(step.returned());
  EXPECT_EQ(step.value(), 42);
}

TEST(CoroutineSend, StepOfTheWrongKindRefusesTheOtherAccessor) {
  auto c = weft::coro([] {
    weft::suspend(1);
    return 2;
  });
  auto suspended = c.send();
  EXPECT_THROW(suspended.value(), weft::InvalidStateError);
  auto returned = c.send();
  EXPECT_THROW(returned.yielded(), weft::InvalidStateError);
}

TEST(CoroutineSend, VoidCoroutineReturnsWithAValuelessResult) {
  auto c = weft::coro([] {});
  auto step = c.send();
  ASSERT_TRUE(step.returned());
  EXPECT_NO_THROW(step.value());  // std::monostate: "None"
}

TEST(CoroutineSend, MoveOnlyResultIsHandedOver) {
  auto c = weft::coro([] { return std::make_unique<int>(7); });
  auto step = c.send();
  ASSERT_TRUE(step.returned());
  std::unique_ptr<int> result = std::move(step.value());
  ASSERT_TRUE(result);
  EXPECT_EQ(*result, 7);
}

TEST(CoroutineSend, FirstSendWithAValueThrowsTypeErrorAndLeavesTheCoroutineUnstarted) {
  bool ran = false;
  auto c = weft::coro([&] { ran = true; });
  try {
    c.send(1);
    FAIL() << "send(1) into a just-started coroutine must throw";
  } catch (const weft::TypeError& e) {
    EXPECT_STREQ(e.what(), "can't send non-None value to a just-started coroutine");
  }
  EXPECT_FALSE(ran);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CREATED);
  EXPECT_TRUE(c.send().returned());  // still startable with None
  EXPECT_TRUE(ran);
}

TEST(CoroutineSend, SendToAReturnedCoroutineThrowsCannotReuse) {
  auto c = weft::coro([] { return 1; });
  c.send();
  try {
    c.send();
    FAIL() << "a returned coroutine cannot be resumed";
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "cannot reuse already awaited coroutine");
  }
}

TEST(CoroutineSend, ExceptionEscapingTheBodyPropagatesFromSendAndClosesTheCoroutine) {
  auto c = weft::coro([] {
    weft::suspend();
    throw std::out_of_range("boom");
  });
  c.send();
  try {
    c.send();
    FAIL() << "the body's exception must reach the caller";
  } catch (const std::out_of_range& e) {
    EXPECT_STREQ(e.what(), "boom");
  }
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
  try {
    c.send();
    FAIL() << "a coroutine that threw is closed";
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "cannot reuse already awaited coroutine");
  }
}

TEST(CoroutineSend, SendFromInsideItsOwnBodyThrowsAlreadyExecuting) {
  weft::Coroutine<void>* self = nullptr;
  std::string error;
  auto c = weft::coro([&] {
    try {
      self->send();
    } catch (const weft::ValueError& e) {
      error = e.what();
    }
  });
  self = &c;
  c.send();
  EXPECT_EQ(error, "coroutine already executing");
}

TEST(CoroutineSend, ArgumentsAreCopiedAndStdRefShares) {
  int shared = 0;
  std::string text = "copied";
  auto c = weft::coro(
      [](std::string s, int& out) {
        s += "!";
        out = 5;
        return s;
      },
      text, std::ref(shared));
  text = "changed after creation";
  auto step = c.send();
  EXPECT_EQ(step.value(), "copied!");
  EXPECT_EQ(shared, 5);
}

const weft::CoroutineFunction fetch{"fetch", [](int id) {
                                      weft::suspend(id);
                                      return id * 2;
                                    }};

TEST(CoroutineSend, CoroutineFunctionMakesANamedCoroutinePerCall) {
  weft::Coroutine<int> a = fetch(1);
  weft::Coroutine<int> b = fetch(2);
  EXPECT_EQ(a.name(), "fetch");
  EXPECT_STREQ(fetch.name(), "fetch");
  EXPECT_EQ(yielded_as<int>(a.send()), 1);
  EXPECT_EQ(yielded_as<int>(b.send()), 2);
  EXPECT_EQ(a.send().value(), 2);
  EXPECT_EQ(b.send().value(), 4);
}

TEST(CoroutineSend, SetNameRenamesTheCoroutine) {
  auto c = weft::coro([] {});
  EXPECT_EQ(c.name(), "<lambda>");
  c.set_name("renamed");
  EXPECT_EQ(c.name(), "renamed");
  c.close();
}

TEST(CoroutineSend, MovedHandleDrivesTheSameCoroutine) {
  int steps = 0;
  auto made = weft::coro([&] {
    ++steps;
    weft::suspend();
    ++steps;
  });
  made.send();
  weft::Coroutine<void> moved = std::move(made);
  EXPECT_FALSE(static_cast<bool>(made));  // NOLINT(bugprone-use-after-move): checking it
  EXPECT_TRUE(static_cast<bool>(moved));
  EXPECT_EQ(weft::getcoroutinestate(moved), weft::CORO_SUSPENDED);
  EXPECT_TRUE(moved.send().returned());
  EXPECT_EQ(steps, 2);
}

TEST(CoroutineSend, EmptyHandleThrowsRuntimeErrorInsteadOfCrashing) {
  weft::Coroutine<int> empty;
  EXPECT_FALSE(static_cast<bool>(empty));
  EXPECT_THROW(empty.send(), weft::RuntimeError);
  EXPECT_THROW(weft::getcoroutinestate(empty), weft::RuntimeError);
}

TEST(CoroutineSend, SuspendOutsideACoroutineThrowsRuntimeError) {
  EXPECT_THROW(weft::suspend(1), weft::RuntimeError);
}

TEST(CoroutineSend, ManySuspensionsKeepTheStackIntact) {
  // Locals on the coroutine's stack survive every round trip through the driver.
  auto c = weft::coro([] {
    long sum = 0;
    int values[64];
    for (int i = 0; i < 64; ++i) values[i] = i;
    for (int round = 0; round < 1000; ++round) {
      weft::suspend(round);
      for (int v : values) sum += v;
    }
    return sum;
  });
  for (int round = 0; round < 1000; ++round) {
    auto step = c.send();
    ASSERT_EQ(yielded_as<int>(step), round);
  }
  EXPECT_EQ(c.send().value(), 1000L * (63 * 64 / 2));
}

}  // namespace
