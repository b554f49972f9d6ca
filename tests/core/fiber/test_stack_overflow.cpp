// A coroutine that overflows its stack hits the guard region below it; the process ends with a
// message naming the coroutine instead of corrupting the neighbouring stack.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <csignal>
#include <cstdint>
#include <thread>

#include "../core_test_support.hpp"

namespace {

// Never set: an exit the compiler cannot rule out, so it accepts the recursion as intended.
volatile bool stop_recursion = false;

// Recurses without bound; the volatile buffer and the work after the call keep the compiler
// from turning it into a loop or a tail call.
__attribute__((noinline)) int recurse_forever(int depth) {
  if (stop_recursion) return depth;
  volatile char frame[256];
  frame[0] = static_cast<char>(depth);
  int below = recurse_forever(depth + 1);
  return below + frame[0];
}

const weft::CoroutineFunction runaway_recursion{"runaway_recursion",
                                                [] { return recurse_forever(0); }};

const weft::CoroutineFunction awaits_runaway{"awaits_runaway",
                                             [] { return weft::await(runaway_recursion()); }};

// An address nothing maps; volatile so that the compiler cannot see the fault coming.
volatile std::uintptr_t wild_address = 16;

class StackOverflowDeathTest : public testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(StackOverflowDeathTest, OverflowEndsTheProcessWithAMessageNamingTheCoroutine) {
  EXPECT_DEATH(
      {
        auto c = runaway_recursion();
        c.send();
      },
      "stack overflow in coroutine 'runaway_recursion'");
}

TEST_F(StackOverflowDeathTest, OverflowInAnAwaitedCoroutineNamesTheInnermostCoroutine) {
  EXPECT_DEATH(
      {
        auto c = awaits_runaway();
        c.send();
      },
      "stack overflow in coroutine 'runaway_recursion'");
}

TEST_F(StackOverflowDeathTest, OverflowOnAnotherThreadIsCaughtToo) {
  EXPECT_DEATH(
      {
        std::thread t([] {
          auto c = runaway_recursion();
          c.send();
        });
        t.join();
      },
      "stack overflow in coroutine 'runaway_recursion'");
}

TEST_F(StackOverflowDeathTest, AFaultOutsideAGuardIsNotReportedAsAnOverflow) {
  // Someone else's crash goes to the handler that was there before (here: the default action).
  EXPECT_DEATH(
      {
        auto c = weft::coro([] { *reinterpret_cast<volatile int*>(wild_address) = 1; });
        c.send();
      },
      testing::Not(testing::HasSubstr("stack overflow")));
}

}  // namespace
