// CPython 3.14's Lib/test/test_asyncio/test_graph.py, method by method (each test is named after
// the method it mirrors). Coroutines are weft::CoroutineFunction objects named as CPython's
// `async def`s, so walk() reads the same names. graph_scenarios.py beside this file is the
// programs' CPython form with what 3.14 prints for them (graph_scenarios.out).
//
// One worker and virtual time: the methods rely on asyncio's one-thread order (who has already
// begun to await when the capture runs). Where weft's graph differs, by construction:
// - plain C++ functions are not frames: CPython's 's capture_test_stack' / 's c5' entries are
//   absent, and the top frame is the coroutine that runs them, at the line that called;
// - the frames of weft's own helpers are not shown: TaskGroup's 'a _aexit', 'a __aexit__' and
//   wait()'s 'a _wait', 'a wait' are absent -- the scope's or call's own line stands for them.
#include <gtest/gtest.h>

#include <string>

#include "../call_graph_test_support.hpp"
#include "../compose_test_support.hpp"

namespace {

using weft_compose_test::deterministic;
using weft_graph_test::capture_test_stack;
using weft_graph_test::capture_test_stack_of;
using weft_graph_test::Captured;

TEST(TestCallStack, test_stack_tgroup) {
  Captured stack_for_c5;
  auto c5 = [&] { stack_for_c5 = capture_test_stack(); };
  const weft::CoroutineFunction c4{"c4", [&] {
                                     weft::sleep(0);
                                     c5();
                                   }};
  const weft::CoroutineFunction c3{"c3", [&] { weft::await(c4()); }};
  const weft::CoroutineFunction c2{"c2", [&] { weft::await(c3()); }};
  const weft::CoroutineFunction c1{"c1", [](weft::Task<void> task) { weft::await(task); }};
  const weft::CoroutineFunction main{"main", [&] {
                                       weft::task_group([&](weft::TaskGroup& tg) {
                                         auto task = tg.create_task(c2(), "c2_root");
                                         tg.create_task(c1(task), "sub_main_1");
                                         tg.create_task(c1(task), "sub_main_2");
                                       });
                                     }};
  const weft::CoroutineFunction test{"test_stack_tgroup", [&] { weft::await(main()); }};
  weft::run(test(), deterministic());

  EXPECT_EQ(stack_for_c5.walk,
            "['T<c2_root>', ['a c4', 'a c3', 'a c2'], ["
            "['T<anon>', ['a main', 'a test_stack_tgroup'], []], "
            "['T<sub_main_1>', ['a c1'], [['T<anon>', ['a main', 'a test_stack_tgroup'], []]]], "
            "['T<sub_main_2>', ['a c1'], [['T<anon>', ['a main', 'a test_stack_tgroup'], []]]]]]");
  EXPECT_NE(stack_for_c5.printed.find(" async test_stack_tgroup()"), std::string::npos)
      << stack_for_c5.printed;
}

TEST(TestCallStack, test_stack_async_gen) {
  Captured stack_for_gen_nested_call;
  const weft::CoroutineFunction gen_nested_call{
      "gen_nested_call", [&] { stack_for_gen_nested_call = capture_test_stack(); }};
  const weft::CoroutineFunction main{"main", [&] {
                                       weft::AsyncGenerator<int> gen(
                                           [&](auto& yield_) {
                                             for (int num = 0; num < 2; ++num) {
                                               yield_(num);
                                               if (num == 1) weft::await(gen_nested_call());
                                             }
                                           },
                                           "gen");
                                       for ([[maybe_unused]] int el : gen) {
                                       }
                                     }};
  const weft::CoroutineFunction test{"test_stack_async_gen", [&] { weft::await(main()); }};
  weft::run(test(), deterministic());

  EXPECT_EQ(stack_for_gen_nested_call.walk,
            "['T<anon>', ['a gen_nested_call', 'ag gen', 'a main', 'a test_stack_async_gen'], []]");
  EXPECT_NE(stack_for_gen_nested_call.printed.find("async generator gen()"), std::string::npos)
      << stack_for_gen_nested_call.printed;
}

TEST(TestCallStack, test_stack_gather) {
  Captured stack_for_deep;
  const weft::CoroutineFunction deep{"deep", [&] {
                                       weft::sleep(0);
                                       stack_for_deep = capture_test_stack();
                                     }};
  const weft::CoroutineFunction c1{"c1", [&] {
                                     weft::sleep(0);
                                     weft::await(deep());
                                   }};
  const weft::CoroutineFunction c2{"c2", [] { weft::sleep(0); }};
  const weft::CoroutineFunction main{"main", [&] { weft::gather(c1(), c2()); }};
  const weft::CoroutineFunction test{"test_stack_gather", [&] { weft::await(main()); }};
  weft::run(test(), deterministic());

  EXPECT_EQ(
      stack_for_deep.walk,
      "['T<anon>', ['a deep', 'a c1'], [['T<anon>', ['a main', 'a test_stack_gather'], []]]]");
}

TEST(TestCallStack, test_stack_shield) {
  Captured stack_for_shield;
  const weft::CoroutineFunction deep{"deep", [&] {
                                       weft::sleep(0);
                                       stack_for_shield = capture_test_stack();
                                     }};
  const weft::CoroutineFunction c1{"c1", [&] {
                                     weft::sleep(0);
                                     weft::await(deep());
                                   }};
  const weft::CoroutineFunction main{"main", [&] { weft::await(weft::shield(c1())); }};
  const weft::CoroutineFunction test{"test_stack_shield", [&] { weft::await(main()); }};
  weft::run(test(), deterministic());

  EXPECT_EQ(
      stack_for_shield.walk,
      "['T<anon>', ['a deep', 'a c1'], [['T<anon>', ['a main', 'a test_stack_shield'], []]]]");
}

TEST(TestCallStack, test_stack_timeout) {
  Captured stack_for_inner;
  const weft::CoroutineFunction inner{"inner", [&] {
                                        weft::sleep(0);
                                        stack_for_inner = capture_test_stack();
                                      }};
  const weft::CoroutineFunction c1{"c1", [&] {
                                     weft::timeout(1.0, [&] {
                                       weft::sleep(0);
                                       weft::await(inner());
                                     });
                                   }};
  const weft::CoroutineFunction main{"main", [&] { weft::await(weft::shield(c1())); }};
  const weft::CoroutineFunction test{"test_stack_timeout", [&] { weft::await(main()); }};
  weft::run(test(), deterministic());

  EXPECT_EQ(
      stack_for_inner.walk,
      "['T<anon>', ['a inner', 'a c1'], [['T<anon>', ['a main', 'a test_stack_timeout'], []]]]");
}

TEST(TestCallStack, test_stack_wait) {
  Captured stack_for_inner;
  const weft::CoroutineFunction inner{"inner", [&] {
                                        weft::sleep(0);
                                        stack_for_inner = capture_test_stack();
                                      }};
  const weft::CoroutineFunction c1{"c1", [&] {
                                     weft::timeout(1.0, [&] {
                                       weft::sleep(0);
                                       weft::await(inner());
                                     });
                                   }};
  const weft::CoroutineFunction c2{"c2", [] {
                                     for (int i = 0; i < 3; ++i) weft::sleep(0);
                                   }};
  const weft::CoroutineFunction main{
      "main", [](weft::Task<void> t1, weft::Task<void> t2) {
        for (;;) {
          auto [done, pending] = weft::wait(std::vector<weft::Task<void>>{t1, t2});
          if (pending.empty()) break;
        }
      }};
  const weft::CoroutineFunction test{"test_stack_wait", [&] {
                                       auto t1 = weft::create_task(c1());
                                       auto t2 = weft::create_task(c2());
                                       weft::await(main(t1, t2));
                                       weft::await(t1);
                                       weft::await(t2);
                                     }};
  weft::run(test(), deterministic());

  EXPECT_EQ(stack_for_inner.walk,
            "['T<anon>', ['a inner', 'a c1'], [['T<anon>', ['a main', 'a test_stack_wait'], []]]]");
}

TEST(TestCallStack, test_stack_task) {
  Captured stack_for_inner;
  const weft::CoroutineFunction inner{"inner", [&] {
                                        weft::sleep(0);
                                        stack_for_inner = capture_test_stack();
                                      }};
  const weft::CoroutineFunction c1{"c1", [&] { weft::await(inner()); }};
  const weft::CoroutineFunction c2{"c2",
                                   [&] { weft::await(weft::create_task(c1(), "there there")); }};
  const weft::CoroutineFunction main{"main", [&] { weft::await(c2()); }};
  const weft::CoroutineFunction test{"test_stack_task", [&] { weft::await(main()); }};
  weft::run(test(), deterministic());

  EXPECT_EQ(stack_for_inner.walk,
            "['T<there there>', ['a inner', 'a c1'], "
            "[['T<anon>', ['a c2', 'a main', 'a test_stack_task'], []]]]");
}

TEST(TestCallStack, test_stack_future) {
  Captured stack_for_fut;
  const weft::CoroutineFunction a2{"a2", [](weft::Future<void> fut) { weft::await(fut); }};
  const weft::CoroutineFunction a1{"a1", [&](weft::Future<void> fut) { weft::await(a2(fut)); }};
  const weft::CoroutineFunction b1{"b1", [](weft::Future<void> fut) { weft::await(fut); }};
  const weft::CoroutineFunction main{"main", [&] {
                                       weft::Future<void> fut;
                                       weft::task_group([&](weft::TaskGroup& g) {
                                         g.create_task(a1(fut), "task A");
                                         g.create_task(b1(fut), "task B");
                                         // A few iterations, so that both a1 and b1 await.
                                         for (int i = 0; i < 5; ++i) weft::sleep(0);
                                         stack_for_fut = capture_test_stack_of(fut);
                                         fut.set_result();
                                       });
                                     }};
  const weft::CoroutineFunction test{"test_stack_future", [&] { weft::await(main()); }};
  weft::run(test(), deterministic());

  // CPython's parents read ['a test_stack_future']: its main() is running the body of `async
  // with` when the future is captured, and asyncio sees only the outer coroutine of a running
  // task. weft's parent is the task that captures: its frames are read as the current task's.
  EXPECT_EQ(
      stack_for_fut.walk,
      "['F', [], ["
      "['T<task A>', ['a a2', 'a a1'], [['T<anon>', ['a main', 'a test_stack_future'], []]]], "
      "['T<task B>', ['a b1'], [['T<anon>', ['a main', 'a test_stack_future'], []]]]]]");
  EXPECT_EQ(stack_for_fut.printed.rfind("* Future(id=0x", 0), 0u) << stack_for_fut.printed;
}

}  // namespace
