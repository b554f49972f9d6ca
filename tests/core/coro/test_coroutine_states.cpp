// inspect.getcoroutinestate / getgeneratorstate: CREATED -> RUNNING <-> SUSPENDED -> CLOSED, and
// the names the states print as.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "../core_test_support.hpp"

namespace {

template <class State>
std::string streamed(State state) {
  std::ostringstream out;
  out << state;
  return out.str();
}

TEST(CoroutineStates, StatesPrintAsPythonsConstantNames) {
  EXPECT_EQ(weft::to_string(weft::CORO_CREATED), "CORO_CREATED");
  EXPECT_EQ(weft::to_string(weft::CORO_RUNNING), "CORO_RUNNING");
  EXPECT_EQ(weft::to_string(weft::CORO_SUSPENDED), "CORO_SUSPENDED");
  EXPECT_EQ(weft::to_string(weft::CORO_CLOSED), "CORO_CLOSED");
  EXPECT_EQ(streamed(weft::CORO_CREATED), "CORO_CREATED");
  EXPECT_EQ(streamed(weft::CORO_RUNNING), "CORO_RUNNING");
  EXPECT_EQ(streamed(weft::CORO_SUSPENDED), "CORO_SUSPENDED");
  EXPECT_EQ(streamed(weft::CORO_CLOSED), "CORO_CLOSED");
}

TEST(CoroutineStates, GeneratorStatesPrintAsPythonsConstantNames) {
  EXPECT_EQ(weft::to_string(weft::GEN_CREATED), "GEN_CREATED");
  EXPECT_EQ(weft::to_string(weft::GEN_RUNNING), "GEN_RUNNING");
  EXPECT_EQ(weft::to_string(weft::GEN_SUSPENDED), "GEN_SUSPENDED");
  EXPECT_EQ(weft::to_string(weft::GEN_CLOSED), "GEN_CLOSED");
  EXPECT_EQ(streamed(weft::GEN_CREATED), "GEN_CREATED");
  EXPECT_EQ(streamed(weft::GEN_RUNNING), "GEN_RUNNING");
  EXPECT_EQ(streamed(weft::GEN_SUSPENDED), "GEN_SUSPENDED");
  EXPECT_EQ(streamed(weft::GEN_CLOSED), "GEN_CLOSED");
}

TEST(CoroutineStates, AsyncGeneratorStatesPrintAsPythonsConstantNames) {
  EXPECT_EQ(streamed(weft::AGEN_CREATED), "AGEN_CREATED");
  EXPECT_EQ(streamed(weft::AGEN_RUNNING), "AGEN_RUNNING");
  EXPECT_EQ(streamed(weft::AGEN_SUSPENDED), "AGEN_SUSPENDED");
  EXPECT_EQ(streamed(weft::AGEN_CLOSED), "AGEN_CLOSED");
}

TEST(CoroutineStates, CoroutineGoesCreatedRunningSuspendedClosed) {
  weft::Coroutine<void>* self = nullptr;
  weft::CoroState seen_inside_first = weft::CORO_CLOSED;
  weft::CoroState seen_inside_after_resume = weft::CORO_CLOSED;
  auto c = weft::coro([&] {
    seen_inside_first = weft::getcoroutinestate(*self);
    weft::suspend();
    seen_inside_after_resume = weft::getcoroutinestate(*self);
  });
  self = &c;
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CREATED);
  c.send();
  EXPECT_EQ(seen_inside_first, weft::CORO_RUNNING);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_SUSPENDED);
  c.send();
  EXPECT_EQ(seen_inside_after_resume, weft::CORO_RUNNING);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineStates, CoroutineThatRaisedIsClosed) {
  auto c = weft::coro([] { throw std::runtime_error("x"); });
  EXPECT_THROW(c.send(), std::runtime_error);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineStates, ClosedCoroutineIsClosed) {
  auto c = weft::coro([] { weft::suspend(); });
  c.send();
  c.close();
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineStates, CoroutineRunningOnAnotherThreadIsRunningAndCannotBeEntered) {
  std::atomic<bool> inside{false};
  std::atomic<bool> release{false};
  auto c = weft::coro([&] {
    // Release/acquire: the test thread sees `inside` only once the body is running.
    inside.store(true, std::memory_order_release);
    while (!release.load(std::memory_order_acquire)) std::this_thread::yield();
    return 5;
  });
  int result = 0;
  std::thread driver([&] { result = c.send().value(); });
  while (!inside.load(std::memory_order_acquire)) std::this_thread::yield();
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_RUNNING);
  try {
    c.send();
    ADD_FAILURE() << "a running coroutine cannot be entered a second time";
  } catch (const weft::ValueError& e) {
    EXPECT_STREQ(e.what(), "coroutine already executing");
  }
  EXPECT_THROW(c.close(), weft::ValueError);
  release.store(true, std::memory_order_release);
  driver.join();
  EXPECT_EQ(result, 5);
  EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

// A closed coroutine's frame is cleared (cr_frame is None): what its body captured is released
// when the body ends, not when the last handle goes -- whether it returned, raised or was closed.
TEST(CoroutineStates, ClosedCoroutineReleasesWhatItsBodyCaptured) {
  auto captured = std::make_shared<int>(1);
  auto returned = weft::coro([captured] { return *captured; });
  auto raised = weft::coro([captured] { throw std::runtime_error("x"); });
  auto closed = weft::coro([captured] { weft::suspend(); });
  EXPECT_EQ(captured.use_count(), 4);
  EXPECT_EQ(returned.send().value(), 1);
  EXPECT_EQ(captured.use_count(), 3);
  EXPECT_THROW(raised.send(), std::runtime_error);
  EXPECT_EQ(captured.use_count(), 2);
  closed.send();
  EXPECT_EQ(captured.use_count(), 2);  // suspended: the frame is alive
  closed.close();
  EXPECT_EQ(captured.use_count(), 1);
}

TEST(GeneratorStates, ExhaustedGeneratorReleasesWhatItsBodyCaptured) {
  auto captured = std::make_shared<int>(1);
  weft::Generator<int> g([captured](auto& yield_) { yield_(*captured); });
  int sum = 0;
  for (int v : g) sum += v;
  EXPECT_EQ(sum, 1);
  EXPECT_EQ(captured.use_count(), 1);
}

TEST(GeneratorStates, GeneratorGoesCreatedRunningSuspendedClosed) {
  weft::Generator<int>* self = nullptr;
  weft::GenState seen_inside = weft::GEN_CLOSED;
  weft::Generator<int> g([&](auto& yield_) {
    seen_inside = weft::getgeneratorstate(*self);
    yield_(1);
  });
  self = &g;
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CREATED);
  g.send();
  EXPECT_EQ(seen_inside, weft::GEN_RUNNING);
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_SUSPENDED);
  g.send();
  EXPECT_EQ(weft::getgeneratorstate(g), weft::GEN_CLOSED);
}

TEST(GeneratorStates, ClosedAndFailedGeneratorsAreClosed) {
  weft::Generator<int> closed([](auto& yield_) { yield_(1); });
  closed.send();
  closed.close();
  EXPECT_EQ(weft::getgeneratorstate(closed), weft::GEN_CLOSED);

  weft::Generator<int> failed([](auto&) { throw std::runtime_error("x"); });
  EXPECT_THROW(failed.send(), std::runtime_error);
  EXPECT_EQ(weft::getgeneratorstate(failed), weft::GEN_CLOSED);

  weft::Generator<int> closed_early([](auto& yield_) { yield_(1); });
  closed_early.close();
  EXPECT_EQ(weft::getgeneratorstate(closed_early), weft::GEN_CLOSED);
}

}  // namespace
