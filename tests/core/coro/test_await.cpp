// weft::await: Python's `await coro` (the awaited coroutine runs inline, on the awaiting
// coroutine's stack) and `await awaitable` for a custom awaitable built on weft::suspend.
#include <gtest/gtest.h>

#include <any>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core_test_support.hpp"

namespace {

using weft_test::Dummy;
using weft_test::yielded_as;

TEST(AwaitCoroutine, AFreshCoroutineRunsInlineAndItsReturnValueIsTheResult) {
  std::uintptr_t outer_local = 0;
  std::uintptr_t inner_local = 0;
  auto outer = weft::coro([&] {
    // Frame addresses, not locals' (ASan may move locals to a heap "fake stack").
    outer_local = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    int value = weft::await(weft::coro([&] {
      inner_local = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
      return 41;
    }));
    return value + 1;
  });
  EXPECT_EQ(outer.send().value(), 42);
  // Inline: the inner body ran a few frames below the outer one on the same stack, not on a
  // stack of its own (pooled stacks are at least a guard region apart).
  std::uintptr_t distance =
      outer_local > inner_local ? outer_local - inner_local : inner_local - outer_local;
  EXPECT_LT(distance, 8u * 1024u);
}

TEST(AwaitCoroutine, TheAwaitedCoroutinesExceptionPropagatesToTheAwaiter) {
  weft::Coroutine<int> inner = weft::coro([]() -> int { throw std::domain_error("inner failed"); });
  std::string caught;
  auto outer = weft::coro([&] {
    try {
      weft::await(inner);
    } catch (const std::domain_error& e) {
      caught = e.what();
    }
  });
  EXPECT_TRUE(outer.send().returned());
  EXPECT_EQ(caught, "inner failed");
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_CLOSED);
}

TEST(AwaitCoroutine, AnExceptionNobodyCatchesReachesTheDriverAndClosesBoth) {
  weft::Coroutine<void> inner = weft::coro([] { throw std::domain_error("unhandled"); });
  auto outer = weft::coro([&] { weft::await(inner); });
  EXPECT_THROW(outer.send(), std::domain_error);
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_CLOSED);
  EXPECT_EQ(weft::getcoroutinestate(outer), weft::CORO_CLOSED);
}

TEST(AwaitCoroutine, AnAwaitedCoroutineThatSuspendsSuspendsItsHost) {
  std::any received;
  weft::Coroutine<std::string> inner = weft::coro([&] {
    received = weft::suspend(std::string("from inner"));
    return std::string("inner done");
  });
  std::string outer_result;
  auto outer = weft::coro([&] { outer_result = weft::await(inner); });
  auto step = outer.send();
  ASSERT_TRUE(step.suspended());
  EXPECT_EQ(yielded_as<std::string>(step), "from inner");
  EXPECT_EQ(weft::getcoroutinestate(outer), weft::CORO_SUSPENDED);
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_SUSPENDED);
  EXPECT_TRUE(outer.send(std::string("reply")).returned());
  EXPECT_EQ(std::any_cast<std::string>(received), "reply");
  EXPECT_EQ(outer_result, "inner done");
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_CLOSED);
}

TEST(AwaitCoroutine, TheAwaitedCoroutineIsRunningWhileItsBodyRuns) {
  weft::Coroutine<void>* inner_self = nullptr;
  weft::Coroutine<void>* outer_self = nullptr;
  weft::CoroState inner_state = weft::CORO_CLOSED;
  weft::CoroState outer_state = weft::CORO_CLOSED;
  weft::Coroutine<void> inner = weft::coro([&] {
    weft::suspend();
    inner_state = weft::getcoroutinestate(*inner_self);
    outer_state = weft::getcoroutinestate(*outer_self);
  });
  weft::Coroutine<void> outer = weft::coro([&] { weft::await(inner); });
  inner_self = &inner;
  outer_self = &outer;
  outer.send();
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_SUSPENDED);
  outer.send();
  EXPECT_EQ(inner_state, weft::CORO_RUNNING);
  EXPECT_EQ(outer_state, weft::CORO_RUNNING);
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_CLOSED);
}

TEST(AwaitCoroutine, AwaitingACoroutineTwiceThrowsCannotReuse) {
  std::string error;
  auto outer = weft::coro([&] {
    auto inner = weft::coro([] { return 1; });
    int first = weft::await(inner);
    try {
      weft::await(inner);
    } catch (const weft::RuntimeError& e) {
      error = e.what();
    }
    return first;
  });
  EXPECT_EQ(outer.send().value(), 1);
  EXPECT_EQ(error, "cannot reuse already awaited coroutine");
}

TEST(AwaitCoroutine, AwaitingAClosedCoroutineThrowsCannotReuse) {
  weft::Coroutine<void> inner = weft::coro([] {});
  inner.close();
  std::string error;
  auto outer = weft::coro([&] {
    try {
      weft::await(inner);
    } catch (const weft::RuntimeError& e) {
      error = e.what();
    }
  });
  outer.send();
  EXPECT_EQ(error, "cannot reuse already awaited coroutine");
}

TEST(AwaitCoroutine, AwaitingACoroutineAnotherOneIsAwaitingThrowsBeingAwaitedAlready) {
  weft::Coroutine<void> inner = weft::coro([] { weft::suspend(); });
  auto first = weft::coro([&] { weft::await(inner); });
  std::string error;
  auto second = weft::coro([&] {
    try {
      weft::await(inner);
    } catch (const weft::RuntimeError& e) {
      error = e.what();
    }
  });
  first.send();
  second.send();
  EXPECT_EQ(error, "coroutine is being awaited already");
  // Driving the awaited coroutine directly is refused too: it runs on its host's stack.
  EXPECT_THROW(inner.send(), weft::RuntimeError);
  first.send();
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_CLOSED);
}

TEST(AwaitCoroutine, AwaitOutsideACoroutineThrowsRuntimeError) {
  auto c = weft::coro([] { return 1; });
  EXPECT_THROW(weft::await(c), weft::RuntimeError);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CREATED);
  c.close();
}

TEST(AwaitCoroutine, ThrowIntoTheHostRaisesInsideTheAwaitedCoroutine) {
  std::string caught_in_inner;
  weft::Coroutine<int> inner = weft::coro([&] {
    try {
      weft::suspend();
    } catch (const std::runtime_error& e) {
      caught_in_inner = e.what();
      return 7;
    }
    return 0;
  });
  auto outer = weft::coro([&] { return weft::await(inner) * 2; });
  outer.send();
  auto step = outer.throw_(std::runtime_error("to inner"));
  ASSERT_TRUE(step.returned());
  EXPECT_EQ(step.value(), 14);
  EXPECT_EQ(caught_in_inner, "to inner");
}

TEST(AwaitCoroutine, ClosingTheHostClosesTheAwaitedCoroutineAndUnwindsBoth) {
  std::vector<std::string> unwound;
  struct Named {
    std::vector<std::string>* log;
    const char* name;
    ~Named() { log->push_back(name); }
  };
  weft::Coroutine<void> inner = weft::coro([&] {
    Named n{&unwound, "inner"};
    weft::suspend();
  });
  auto outer = weft::coro([&] {
    Named n{&unwound, "outer"};
    weft::await(inner);
  });
  outer.send();
  outer.close();
  EXPECT_EQ(unwound, (std::vector<std::string>{"inner", "outer"}));
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_CLOSED);
  EXPECT_EQ(weft::getcoroutinestate(outer), weft::CORO_CLOSED);
}

TEST(AwaitCoroutine, AwaitingAStartedCoroutineRelaysItsYieldsAndOurSends) {
  // weft drives a coroutine started by hand like `yield from`: the relay resumes it with None,
  // then passes each yield up and each send down. (CPython refuses this case with "coroutine is
  // being awaited already", since a native coroutine can only be suspended inside an await.)
  weft::Coroutine<int> inner = weft::coro([] {
    int total = 0;
    for (int i = 0; i < 3; ++i) {
      std::any sent = weft::suspend(i);
      if (sent.has_value()) total += std::any_cast<int>(sent);
    }
    return total;
  });
  EXPECT_EQ(yielded_as<int>(inner.send()), 0);
  auto outer = weft::coro([&] { return weft::await(inner); });
  EXPECT_EQ(yielded_as<int>(outer.send()), 1);
  EXPECT_EQ(yielded_as<int>(outer.send(20)), 2);
  EXPECT_EQ(outer.send(300).value(), 320);
  EXPECT_EQ(weft::getcoroutinestate(inner), weft::CORO_CLOSED);
}

TEST(AwaitCoroutine, NestedAwaitsUnwindInOrder) {
  const weft::CoroutineFunction leaf{"leaf", [] { return std::any_cast<int>(weft::suspend(1)); }};
  const weft::CoroutineFunction middle{"middle", [&] { return weft::await(leaf()) + 10; }};
  auto top = weft::coro([&] { return weft::await(middle()) + 100; });
  EXPECT_EQ(yielded_as<int>(top.send()), 1);
  EXPECT_EQ(top.send(5).value(), 115);
}

TEST(AwaitCustomAwaitable, ItsSuspendedValueReachesTheDriverAndTheSentValueIsTheResult) {
  auto c = weft::coro([] {
    std::any result = weft::await(Dummy{std::string("dummy")});
    return std::any_cast<int>(result);
  });
  auto step = c.send();
  ASSERT_TRUE(step.suspended());
  EXPECT_EQ(yielded_as<std::string>(step), "dummy");
  EXPECT_EQ(c.send(99).value(), 99);
}

struct TwoStep {
  int await() {
    int a = std::any_cast<int>(weft::suspend(std::string("first")));
    int b = std::any_cast<int>(weft::suspend(std::string("second")));
    return a + b;
  }
};

TEST(AwaitCustomAwaitable, AnAwaitableMaySuspendManyTimes) {
  auto c = weft::coro([] { return weft::await(TwoStep{}); });
  EXPECT_EQ(yielded_as<std::string>(c.send()), "first");
  EXPECT_EQ(yielded_as<std::string>(c.send(3)), "second");
  EXPECT_EQ(c.send(4).value(), 7);
}

}  // namespace
