// iscoroutine / iscoroutinefunction, at compile time (is_coroutine_v, is_coroutine_function_v)
// and at run time, for the cases of tests/asyncio/compose/cpython/inspect_scenarios.py; and
// Task::get_coro, which gives the task's coroutine.
#include <gtest/gtest.h>

#include <string>

#include "compose_test_support.hpp"

namespace {

using weft_compose_test::deterministic;

inline const weft::CoroutineFunction fetch{"fetch", [](int x) { return x; }};
auto plain_lambda = [] { return 0; };
int plain_function(int x) {
  return x;
}

using FetchCoroutine = decltype(fetch(1));
using CoroObject = decltype(weft::coro(plain_lambda));

// A coroutine object is one; a coroutine function, a task, a future, a callable are not.
static_assert(weft::is_coroutine_v<FetchCoroutine>);
static_assert(weft::is_coroutine_v<weft::Coroutine<void>>);
static_assert(weft::is_coroutine_v<CoroObject>);
static_assert(weft::is_coroutine_v<const weft::Coroutine<int>&>);
static_assert(!weft::is_coroutine_v<weft::Task<int>>);
static_assert(!weft::is_coroutine_v<weft::Future<int>>);
static_assert(!weft::is_coroutine_v<int>);
static_assert(!weft::is_coroutine_v<decltype(fetch)>);
static_assert(!weft::is_coroutine_v<decltype(plain_lambda)>);

// A coroutine function is one; a plain callable or a coroutine object is not.
static_assert(weft::is_coroutine_function_v<decltype(fetch)>);
static_assert(weft::is_coroutine_function_v<const decltype(fetch)&>);
static_assert(!weft::is_coroutine_function_v<decltype(plain_lambda)>);
static_assert(!weft::is_coroutine_function_v<decltype(&plain_function)>);
static_assert(!weft::is_coroutine_function_v<FetchCoroutine>);
static_assert(!weft::is_coroutine_function_v<weft::Task<int>>);

// And the functions are constant expressions.
static_assert(weft::iscoroutinefunction(fetch));
static_assert(!weft::iscoroutinefunction(plain_lambda));

std::string py_list(std::initializer_list<bool> values) {
  std::string text = "[";
  bool first = true;
  for (bool v : values) {
    text += (first ? "" : ", ") + std::string(v ? "True" : "False");
    first = false;
  }
  return text + "]";
}

TEST(Inspect, IsCoroutineIsTrueForCoroutineObjectsOnly) {
  std::string answers;
  weft::run(
      [&] {
        auto coro = fetch(1);
        auto task = weft::create_task(fetch(2));
        weft::Future<int> fut;
        answers = py_list({weft::iscoroutine(coro), weft::iscoroutine(task), weft::iscoroutine(fut),
                           weft::iscoroutine(42), weft::iscoroutine(fetch)});
        coro.close();
        weft::await(task);
      },
      deterministic());
  EXPECT_EQ(answers, "[True, False, False, False, False]");
}

TEST(Inspect, IsCoroutineFunctionIsTrueForCoroutineFunctionsOnly) {
  auto coro = fetch(1);
  std::string answers =
      py_list({weft::iscoroutinefunction(fetch), weft::iscoroutinefunction(plain_lambda),
               weft::iscoroutinefunction(&plain_function), weft::iscoroutinefunction(coro)});
  coro.close();
  EXPECT_EQ(answers, "[True, False, False, False]");
}

TEST(Inspect, GetCoroGivesTheTasksCoroutine) {
  std::string name;
  bool is_coroutine = false;
  bool closed = false;
  weft::run(
      [&] {
        auto task = weft::create_task(fetch(2));
        name = task.get_coro().name();
        is_coroutine = weft::iscoroutine(task.get_coro());
        weft::await(task);
        closed = weft::getcoroutinestate(task.get_coro()) == weft::CORO_CLOSED;
      },
      deterministic());
  EXPECT_EQ(name, "fetch");
  EXPECT_TRUE(is_coroutine);
  EXPECT_TRUE(closed);
}

}  // namespace
