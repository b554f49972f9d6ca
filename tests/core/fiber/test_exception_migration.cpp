// A fiber may be suspended on one thread and resumed on another. Its C++ exception-handling
// state (the caught-exception stack behind `throw;` and std::current_exception, and
// std::uncaught_exceptions) must travel with it and must not leak into the threads that drive it.
#include <gtest/gtest.h>

#include <atomic>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../core_test_support.hpp"

namespace {

// Which thread this is. (std::thread::id cannot tell: a new thread may reuse an old one's id.)
thread_local int tls_thread_tag = 0;

// Reads the tag through the thread pointer as it is now (never cached across a suspension).
__attribute__((noinline)) int read_thread_tag() {
  int tag = tls_thread_tag;
  asm volatile("" ::: "memory");
  return tag;
}

// Runs fn on a fresh thread with a fresh tag and waits for it: every call resumes the fiber
// somewhere new.
std::atomic<int> next_tag{1};

template <class F>
void on_new_thread(F fn) {
  std::thread t([&fn] {
    tls_thread_tag = next_tag.fetch_add(1);
    fn();
  });
  t.join();
}

TEST(ExceptionMigration, RethrowInsideACatchBlockWorksAfterResumingOnAnotherThread) {
  std::exception_ptr before_suspend;
  std::exception_ptr after_resume;
  int uncaught_after_resume = -1;
  int suspended_on = -1;
  int resumed_on = -1;
  auto c = weft::coro([&] {
    try {
      throw std::runtime_error("original");
    } catch (const std::runtime_error&) {
      before_suspend = std::current_exception();
      suspended_on = read_thread_tag();
      weft::suspend();
      resumed_on = read_thread_tag();
      after_resume = std::current_exception();
      uncaught_after_resume = std::uncaught_exceptions();
      throw;  // rethrows the exception being handled -- found through the migrated state
    }
  });

  std::exception_ptr first_driver_sees = std::make_exception_ptr(0);
  on_new_thread([&] {
    EXPECT_TRUE(c.send().suspended());
    first_driver_sees = std::current_exception();
  });
  EXPECT_EQ(first_driver_sees, nullptr) << "the fiber's caught exception leaked into its driver";
  EXPECT_EQ(std::current_exception(), nullptr);

  std::string rethrown;
  std::exception_ptr second_driver_after = std::make_exception_ptr(0);
  on_new_thread([&] {
    try {
      c.send();
    } catch (const std::runtime_error& e) {
      rethrown = e.what();
    }
    second_driver_after = std::current_exception();
  });

  EXPECT_NE(suspended_on, resumed_on);
  ASSERT_TRUE(before_suspend);
  EXPECT_EQ(after_resume, before_suspend);
  EXPECT_EQ(uncaught_after_resume, 0);
  EXPECT_EQ(rethrown, "original");
  EXPECT_EQ(second_driver_after, nullptr);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(ExceptionMigration, TheDriversOwnCaughtExceptionSurvivesResumingAFiber) {
  auto c = weft::coro([] {
    try {
      throw std::logic_error("fiber's");
    } catch (const std::logic_error&) {
      weft::suspend();
      throw;
    }
  });
  std::string driver_rethrew;
  std::string fiber_rethrew;
  try {
    throw std::out_of_range("driver's");
  } catch (const std::out_of_range&) {
    c.send();  // the fiber enters its own catch block and suspends there
    try {
      throw;  // must still be the driver's exception
    } catch (const std::out_of_range& e) {
      driver_rethrew = e.what();
    } catch (const std::logic_error& e) {
      driver_rethrew = std::string("wrong: ") + e.what();
    }
  }
  on_new_thread([&] {
    try {
      c.send();
    } catch (const std::logic_error& e) {
      fiber_rethrew = e.what();
    }
  });
  EXPECT_EQ(driver_rethrew, "driver's");
  EXPECT_EQ(fiber_rethrew, "fiber's");
}

struct SuspendsWhileUnwinding {
  int* during_unwinding_before;
  int* during_unwinding_after;
  ~SuspendsWhileUnwinding() {
    *during_unwinding_before = std::uncaught_exceptions();
    weft::suspend();  // only ever resumed with send(): nothing is thrown in here
    *during_unwinding_after = std::uncaught_exceptions();
  }
};

TEST(ExceptionMigration, UncaughtExceptionsTravelsWithTheFiber) {
  int before = -1;
  int after = -1;
  auto c = weft::coro([&] {
    SuspendsWhileUnwinding guard{&before, &after};
    throw std::runtime_error("in flight");
  });
  int driver_during = -1;
  on_new_thread([&] {
    EXPECT_TRUE(c.send().suspended());  // suspended mid-unwinding, inside the destructor
    driver_during = std::uncaught_exceptions();
  });
  EXPECT_EQ(before, 1);
  EXPECT_EQ(driver_during, 0) << "the fiber's in-flight exception leaked into its driver";
  std::string propagated;
  on_new_thread([&] {
    try {
      c.send();
    } catch (const std::runtime_error& e) {
      propagated = e.what();
      EXPECT_EQ(std::uncaught_exceptions(), 0);
    }
  });
  EXPECT_EQ(after, 1);
  EXPECT_EQ(propagated, "in flight");
}

TEST(FiberMigration, ACoroutineResumedOnManyThreadsKeepsWorking) {
  constexpr int kThreads = 6;
  weft::Coroutine<int>* self = nullptr;
  std::vector<int> tags_seen;
  std::vector<weft::CoroState> states_seen;
  auto c = weft::coro([&] {
    int resumes = 0;
    auto published = weft::local("resumes", resumes);
    for (int i = 0; i < kThreads; ++i) {
      tags_seen.push_back(read_thread_tag());
      states_seen.push_back(weft::getcoroutinestate(*self));
      ++resumes;
      // Each suspend finds its frame through the thread it is running on now.
      weft::suspend(i);
    }
    return resumes;
  });
  self = &c;
  for (int i = 0; i < kThreads; ++i) {
    on_new_thread([&, i] {
      tls_thread_tag = 100 + i;  // overrides the fresh tag: predictable values to compare
      auto step = c.send();
      EXPECT_EQ(std::any_cast<int>(step.yielded()), i);
    });
    EXPECT_EQ(weft::getcoroutinelocals(c), (weft::Locals{{"resumes", std::to_string(i + 1)}}));
  }
  int result = 0;
  on_new_thread([&] { result = c.send().value(); });
  EXPECT_EQ(result, kThreads);
  std::vector<int> expected_tags;
  for (int i = 0; i < kThreads; ++i) expected_tags.push_back(100 + i);
  EXPECT_EQ(tags_seen, expected_tags);
  for (auto s : states_seen) EXPECT_EQ(s, weft::CORO_RUNNING);
}

TEST(FiberMigration, AGeneratorResumedOnAnotherThreadKeepsItsStack) {
  weft::Generator<int> g([](auto& yield_) {
    int sum = 0;
    for (int i = 1; i <= 4; ++i) {
      sum += i;
      yield_(sum);
    }
  });
  std::vector<int> seen;
  for (int i = 0; i < 4; ++i) on_new_thread([&] { seen.push_back(g.send().yielded()); });
  EXPECT_EQ(seen, (std::vector<int>{1, 3, 6, 10}));
  on_new_thread([&] { EXPECT_TRUE(g.send().returned()); });
}

TEST(FiberMigration, CloseOnAnotherThreadUnwindsTheStack) {
  bool unwound = false;
  struct Sentinel {
    bool* flag;
    ~Sentinel() { *flag = true; }
  };
  auto c = weft::coro([&] {
    Sentinel s{&unwound};
    weft::suspend();
  });
  on_new_thread([&] { c.send(); });
  on_new_thread([&] { c.close(); });
  EXPECT_TRUE(unwound);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

}  // namespace
