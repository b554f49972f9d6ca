// coroutine.throw(exc) and coroutine.close(), and what destroying a coroutine does: each raises
// at the suspension point, so the body's handlers and its RAII destructors run.
#include <gtest/gtest.h>

#include <any>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "../core_test_support.hpp"

namespace {

using weft_test::WarningCapture;
using weft_test::yielded_as;

// Sets a flag when destroyed: proves a stack frame was unwound.
struct Sentinel {
  bool* destroyed;
  ~Sentinel() { *destroyed = true; }
};

struct TaggedError {
  int tag;
};

TEST(CoroutineThrow, ThrowRaisesTheExceptionAtTheSuspensionPoint) {
  std::string caught;
  auto c = weft::coro([&] {
    try {
      weft::suspend(1);
    } catch (const std::invalid_argument& e) {
      caught = e.what();
    }
  });
  c.send();
  EXPECT_TRUE(c.throw_(std::invalid_argument("bad value")).returned());
  EXPECT_EQ(caught, "bad value");
}

TEST(CoroutineThrow, CaughtAndSuspendedAgainReturnsTheNewSuspendedValue) {
  auto c = weft::coro([] {
    for (;;) {
      try {
        weft::suspend(std::string("waiting"));
      } catch (const std::runtime_error& e) {
        weft::suspend(std::string("recovered from ") + e.what());
      }
    }
  });
  c.send();
  auto step = c.throw_(std::runtime_error("outage"));
  ASSERT_TRUE(step.suspended());
  EXPECT_EQ(yielded_as<std::string>(step), "recovered from outage");
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_SUSPENDED);
  EXPECT_EQ(yielded_as<std::string>(c.send()), "waiting");  // still alive and looping
  c.close();
}

TEST(CoroutineThrow, CaughtAndReturnedCompletesWithTheReturnValue) {
  auto c = weft::coro([] {
    try {
      weft::suspend();
    } catch (const TaggedError& e) {
      return e.tag * 10;
    }
    return 0;
  });
  c.send();
  auto step = c.throw_(TaggedError{4});
  ASSERT_TRUE(step.returned());
  EXPECT_EQ(step.value(), 40);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineThrow, UncaughtExceptionPropagatesToTheCallerAndClosesTheCoroutine) {
  bool unwound = false;
  auto c = weft::coro([&] {
    Sentinel sentinel{&unwound};
    weft::suspend();
  });
  c.send();
  try {
    c.throw_(TaggedError{7});
    FAIL() << "an uncaught exception must propagate out of throw_";
  } catch (const TaggedError& e) {
    EXPECT_EQ(e.tag, 7);
  }
  EXPECT_TRUE(unwound);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
  try {
    c.send();
    FAIL() << "the coroutine is closed";
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "cannot reuse already awaited coroutine");
  }
}

TEST(CoroutineThrow, TheSameExceptionObjectReachesTheCaller) {
  auto c = weft::coro([] { weft::suspend(); });
  c.send();
  std::exception_ptr error = std::make_exception_ptr(std::logic_error("identity"));
  const void* thrown_address = nullptr;
  try {
    std::rethrow_exception(error);
  } catch (const std::logic_error& e) {
    thrown_address = &e;
  }
  try {
    c.throw_(error);
    FAIL();
  } catch (const std::logic_error& e) {
    EXPECT_EQ(static_cast<const void*>(&e), thrown_address);
  }
}

TEST(CoroutineThrow, ADifferentExceptionRaisedByTheHandlerPropagates) {
  auto c = weft::coro([] {
    try {
      weft::suspend();
    } catch (const std::runtime_error&) {
      throw std::length_error("translated");
    }
  });
  c.send();
  EXPECT_THROW(c.throw_(std::runtime_error("original")), std::length_error);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineThrow, ThrowIntoACreatedCoroutineRaisesAtOnceWithoutRunningTheBody) {
  WarningCapture warnings;
  bool ran = false;
  {
    auto c = weft::coro([&] { ran = true; });
    EXPECT_THROW(c.throw_(TaggedError{1}), TaggedError);
    EXPECT_FALSE(ran);
    EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
    try {
      c.send();
      FAIL();
    } catch (const weft::RuntimeError& e) {
      EXPECT_STREQ(e.what(), "cannot reuse already awaited coroutine");
    }
  }
  EXPECT_TRUE(warnings.all().empty());  // closed, so not "never awaited"
}

TEST(CoroutineThrow, ThrowIntoAClosedCoroutineThrowsCannotReuse) {
  // CPython: coro.throw(exc) on a finished coroutine raises RuntimeError, not exc.
  auto c = weft::coro([] {});
  c.send();
  try {
    c.throw_(TaggedError{1});
    FAIL();
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "cannot reuse already awaited coroutine");
  }
}

TEST(CoroutineThrow, ThrowWithANullExceptionPointerIsATypeError) {
  auto c = weft::coro([] { weft::suspend(); });
  c.send();
  EXPECT_THROW(c.throw_(std::exception_ptr{}), weft::TypeError);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_SUSPENDED);
  c.close();
}

TEST(CoroutineThrow, ThrowFromInsideItsOwnBodyThrowsAlreadyExecuting) {
  weft::Coroutine<void>* self = nullptr;
  std::string error;
  auto c = weft::coro([&] {
    try {
      self->throw_(TaggedError{1});
    } catch (const weft::ValueError& e) {
      error = e.what();
    }
  });
  self = &c;
  c.send();
  EXPECT_EQ(error, "coroutine already executing");
}

TEST(CoroutineClose, CloseRaisesGeneratorExitAtTheSuspensionPoint) {
  bool saw_generator_exit = false;
  auto c = weft::coro([&] {
    try {
      weft::suspend();
    } catch (const weft::GeneratorExit&) {
      saw_generator_exit = true;
      throw;
    }
  });
  c.send();
  c.close();
  EXPECT_TRUE(saw_generator_exit);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineClose, CloseRunsTheDestructorsOfEveryFrameOnTheCoroutinesStack) {
  std::vector<std::string> destroyed;
  struct Named {
    std::vector<std::string>* log;
    const char* name;
    ~Named() { log->push_back(name); }
  };
  auto c = weft::coro([&] {
    Named outer{&destroyed, "outer"};
    auto nested = [&] {
      Named inner{&destroyed, "inner"};
      weft::suspend();
    };
    nested();
  });
  c.send();
  EXPECT_TRUE(destroyed.empty());
  c.close();
  EXPECT_EQ(destroyed, (std::vector<std::string>{"inner", "outer"}));
}

TEST(CoroutineClose, GeneratorExitPassesThroughStdExceptionHandlers) {
  // Python's GeneratorExit is a BaseException: `except Exception` does not swallow it.
  bool swallowed = false;
  auto c = weft::coro([&] {
    try {
      weft::suspend();
    } catch (const std::exception&) {
      swallowed = true;
    }
  });
  c.send();
  EXPECT_NO_THROW(c.close());
  EXPECT_FALSE(swallowed);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineClose, BodyThatCatchesGeneratorExitAndReturnsClosesSilently) {
  auto c = weft::coro([] {
    try {
      weft::suspend();
    } catch (const weft::GeneratorExit&) {
      return 1;
    }
    return 0;
  });
  c.send();
  EXPECT_NO_THROW(c.close());
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

// Python 3.13 (gh-104770, test_generators' test_close_return_value): close() returns what the
// body returned from its GeneratorExit handler; None when GeneratorExit ended it, or when it had
// not started or was closed already. tests/core/coro/cpython/close_return_value.py.
TEST(CoroutineClose, CloseReturnValue) {
  auto returns = weft::coro([] {
    try {
      weft::suspend();
    } catch (const weft::GeneratorExit&) {
      return 1;
    }
    return 0;
  });
  returns.send();
  EXPECT_EQ(returns.close(), std::optional<int>(1));
  EXPECT_EQ(returns.close(), std::nullopt) << "closed already";

  auto propagates = weft::coro([] {
    weft::suspend();
    return 0;
  });
  propagates.send();
  EXPECT_EQ(propagates.close(), std::nullopt);

  auto unstarted = weft::coro([] { return 2; });
  EXPECT_EQ(unstarted.close(), std::nullopt);
}

TEST(CoroutineClose, SuspendingAgainAfterGeneratorExitThrowsIgnoredGeneratorExit) {
  int generator_exits = 0;
  auto c = weft::coro([&] {
    try {
      weft::suspend(std::string("first"));
    } catch (const weft::GeneratorExit&) {
      ++generator_exits;
      weft::suspend(std::string("refusing to close"));  // the mistake
    }
  });
  c.send();
  try {
    c.close();
    FAIL() << "a coroutine that suspends after GeneratorExit must be reported";
  } catch (const weft::RuntimeError& e) {
    EXPECT_STREQ(e.what(), "coroutine ignored GeneratorExit");
  }
  EXPECT_EQ(generator_exits, 1);
  // CPython leaves it suspended at the new suspension point; a second close ends it.
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_SUSPENDED);
  EXPECT_NO_THROW(c.close());
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineClose, ExceptionRaisedDuringCleanupPropagatesFromClose) {
  auto c = weft::coro([] {
    try {
      weft::suspend();
    } catch (const weft::GeneratorExit&) {
      throw std::runtime_error("cleanup failed");
    }
  });
  c.send();
  try {
    c.close();
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "cleanup failed");
  }
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineClose, CloseOnACreatedCoroutineIsSilentAndSuppressesTheNeverAwaitedWarning) {
  WarningCapture warnings;
  bool ran = false;
  {
    auto c = weft::coro([&] { ran = true; });
    EXPECT_NO_THROW(c.close());
    EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
  }
  EXPECT_FALSE(ran);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(CoroutineClose, CloseOnAClosedCoroutineIsSilent) {
  auto c = weft::coro([] { return 3; });
  c.send();
  EXPECT_NO_THROW(c.close());
  EXPECT_NO_THROW(c.close());
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineClose, CloseFromInsideItsOwnBodyThrowsAlreadyExecuting) {
  weft::Coroutine<void>* self = nullptr;
  std::string error;
  auto c = weft::coro([&] {
    try {
      self->close();
    } catch (const weft::ValueError& e) {
      error = e.what();
    }
  });
  self = &c;
  c.send();
  EXPECT_EQ(error, "coroutine already executing");
}

TEST(CoroutineDestroy, DestroyingASuspendedCoroutineUnwindsItsStack) {
  WarningCapture warnings;
  bool unwound = false;
  bool saw_generator_exit = false;
  {
    auto c = weft::coro([&] {
      Sentinel sentinel{&unwound};
      try {
        weft::suspend();
      } catch (const weft::GeneratorExit&) {
        saw_generator_exit = true;
        throw;
      }
    });
    c.send();
    EXPECT_FALSE(unwound);
  }
  EXPECT_TRUE(saw_generator_exit);
  EXPECT_TRUE(unwound);
  EXPECT_TRUE(warnings.all().empty());
}

TEST(CoroutineDestroy, DestroyingACoroutineThatKeepsIgnoringGeneratorExitReportsIt) {
  WarningCapture warnings;
  {
    auto c = weft::coro([] {
      for (;;) {
        try {
          weft::suspend();
        } catch (const weft::GeneratorExit&) {
        }
      }
    });
    c.set_name("stubborn");
    c.send();
  }  // its stack is abandoned: it would never end
  auto all = warnings.all();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].category, "RuntimeWarning");
  EXPECT_NE(all[0].message.find("Exception ignored in: <coroutine object 'stubborn'>"),
            std::string::npos)
      << all[0].message;
  EXPECT_NE(all[0].message.find("coroutine ignored GeneratorExit"), std::string::npos)
      << all[0].message;
}

// An abandoned stack goes back to the pool; the next coroutine on it must find it usable (under
// ASan: no poisoned leftovers from the frames that were never unwound).
__attribute__((noinline)) void fill_and_suspend_forever(volatile char* sink) {
  char buffer[2048];
  for (auto& b : buffer) b = 1;
  *sink = buffer[100];
  for (;;) {
    try {
      weft::suspend();
    } catch (const weft::GeneratorExit&) {
    }
  }
}

__attribute__((noinline)) int use_large_frame() {
  volatile char buffer[8192];
  for (auto& b : buffer) b = 2;
  int sum = 0;
  for (auto& b : buffer) sum += b;
  return sum;
}

TEST(CoroutineDestroy, AStackAbandonedByAStubbornCoroutineIsCleanForTheNextOne) {
  WarningCapture warnings;
  volatile char sink = 0;
  for (int i = 0; i < 4; ++i) {
    auto stubborn = weft::coro([&] { fill_and_suspend_forever(&sink); });
    stubborn.send();
  }
  for (int i = 0; i < 4; ++i) {
    auto c = weft::coro([] { return use_large_frame(); });
    EXPECT_EQ(c.send().value(), 2 * 8192);
  }
  EXPECT_EQ(warnings.all().size(), 4u);
}

TEST(CoroutineDestroy, DestroyingAFinishedOrClosedCoroutineDoesNothingMore) {
  WarningCapture warnings;
  int destructor_runs = 0;
  struct Counter {
    int* count;
    ~Counter() { ++*count; }
  };
  {
    auto finished = weft::coro([&] { Counter c{&destructor_runs}; });
    finished.send();
    auto closed = weft::coro([&] {
      Counter c{&destructor_runs};
      weft::suspend();
    });
    closed.send();
    closed.close();
    EXPECT_EQ(destructor_runs, 2);
  }
  EXPECT_EQ(destructor_runs, 2);
  EXPECT_TRUE(warnings.all().empty());
}

}  // namespace
