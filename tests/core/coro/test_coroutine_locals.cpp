// inspect.getcoroutinelocals / getgeneratorlocals: the locals a body published with weft::local,
// printed with operator<<, while its frame lives.
#include <gtest/gtest.h>

#include <string>

#include "../core_test_support.hpp"

namespace {

using Locals = weft::Locals;

TEST(CoroutineLocals, PublishedLocalsAreReadableWhileSuspended) {
  auto c = weft::coro([] {
    int count = 3;
    std::string label = "alpha";
    auto published_count = weft::local("count", count);
    auto published_label = weft::local("label", label);
    weft::suspend();
  });
  c.send();
  EXPECT_EQ(weft::getcoroutinelocals(c), (Locals{{"count", "3"}, {"label", "alpha"}}));
  c.close();
}

TEST(CoroutineLocals, ValuesAreUpdatedAfterResume) {
  auto c = weft::coro([] {
    int count = 0;
    auto published = weft::local("count", count);
    for (;;) {
      ++count;
      weft::suspend();
    }
  });
  c.send();
  EXPECT_EQ(weft::getcoroutinelocals(c), (Locals{{"count", "1"}}));
  c.send();
  c.send();
  EXPECT_EQ(weft::getcoroutinelocals(c), (Locals{{"count", "3"}}));
  c.close();
}

TEST(CoroutineLocals, ABindingThatLeavesScopeDisappears) {
  auto c = weft::coro([] {
    int kept = 1;
    auto published_kept = weft::local("kept", kept);
    {
      int temporary = 2;
      auto published_temporary = weft::local("temporary", temporary);
      weft::suspend();
    }
    weft::suspend();
  });
  c.send();
  EXPECT_EQ(weft::getcoroutinelocals(c), (Locals{{"kept", "1"}, {"temporary", "2"}}));
  c.send();
  EXPECT_EQ(weft::getcoroutinelocals(c), (Locals{{"kept", "1"}}));
  c.close();
}

TEST(CoroutineLocals, TheInnermostBindingOfANameWins) {
  auto c = weft::coro([] {
    int x = 1;
    auto outer = weft::local("x", x);
    {
      int shadow = 2;
      auto inner = weft::local("x", shadow);
      weft::suspend();
    }
    weft::suspend();
  });
  c.send();
  EXPECT_EQ(weft::getcoroutinelocals(c), (Locals{{"x", "2"}}));
  c.send();
  EXPECT_EQ(weft::getcoroutinelocals(c), (Locals{{"x", "1"}}));
  c.close();
}

TEST(CoroutineLocals, ClosedCoroutineHasNoLocals) {
  auto c = weft::coro([] {
    int value = 9;
    auto published = weft::local("value", value);
    weft::suspend();
  });
  c.send();
  EXPECT_FALSE(weft::getcoroutinelocals(c).empty());
  c.close();
  EXPECT_TRUE(weft::getcoroutinelocals(c).empty());
}

TEST(CoroutineLocals, FinishedCoroutineHasNoLocals) {
  auto c = weft::coro([] {
    int value = 9;
    auto published = weft::local("value", value);
    weft::suspend();
  });
  c.send();
  c.send();
  EXPECT_TRUE(weft::getcoroutinelocals(c).empty());
}

TEST(CoroutineLocals, UnstartedCoroutineHasNoLocals) {
  auto c = weft::coro([] {
    int value = 9;
    auto published = weft::local("value", value);
  });
  EXPECT_TRUE(weft::getcoroutinelocals(c).empty());
  c.close();
}

TEST(CoroutineLocals, TheBodyCanReadItsOwnLocals) {
  weft::Coroutine<weft::Locals>* self = nullptr;
  auto c = weft::coro([&] {
    double ratio = 0.5;
    auto published = weft::local("ratio", ratio);
    return weft::getcoroutinelocals(*self);
  });
  self = &c;
  EXPECT_EQ(c.send().value(), (Locals{{"ratio", "0.5"}}));
}

TEST(CoroutineLocals, LocalOutsideACoroutineIsARuntimeError) {
  int x = 0;
  EXPECT_THROW((void)weft::local("x", x), weft::RuntimeError);
}

TEST(CoroutineLocals, AnAwaitedCoroutinesLocalsBelongToIt) {
  weft::Coroutine<void> inner = weft::coro([] {
    int depth = 2;
    auto published = weft::local("depth", depth);
    weft::suspend();
  });
  auto outer = weft::coro([&] {
    int depth = 1;
    auto published = weft::local("outer_depth", depth);
    weft::await(inner);
  });
  outer.send();
  EXPECT_EQ(weft::getcoroutinelocals(inner), (Locals{{"depth", "2"}}));
  EXPECT_EQ(weft::getcoroutinelocals(outer), (Locals{{"outer_depth", "1"}}));
  outer.send();
  EXPECT_TRUE(weft::getcoroutinelocals(inner).empty());
  EXPECT_TRUE(weft::getcoroutinelocals(outer).empty());
}

TEST(GeneratorLocals, PublishedLocalsFollowTheGenerator) {
  weft::Generator<int> g([](auto& yield_) {
    int i = 0;
    auto published = weft::local("i", i);
    for (i = 0; i < 3; ++i) yield_(i);
  });
  EXPECT_TRUE(weft::getgeneratorlocals(g).empty());
  g.send();
  EXPECT_EQ(weft::getgeneratorlocals(g), (Locals{{"i", "0"}}));
  g.send();
  EXPECT_EQ(weft::getgeneratorlocals(g), (Locals{{"i", "1"}}));
  g.close();
  EXPECT_TRUE(weft::getgeneratorlocals(g).empty());
}

}  // namespace
