// capture_call_graph / format_call_graph / print_call_graph and the awaited-by records: the
// text, line by line, as asyncio 3.14 prints the same programs (cpython/graph_scenarios.py and
// .out, with this file's names and lines); depth and limit; records taken away when the wait
// ends; and captures from a foreign thread while workers run (TSan).
#include <gtest/gtest.h>

#include <atomic>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "call_graph_test_support.hpp"
#include "compose_test_support.hpp"

namespace {

using weft_compose_test::deterministic;
using weft_graph_test::walk;

std::string hex_id(const void* p) {
  std::ostringstream text;
  text << "0x" << std::hex << reinterpret_cast<std::uintptr_t>(p);
  return text.str();
}
template <class T>
std::string id_of(const T& task_or_future) {
  return hex_id(&task_or_future.core());
}
std::string file_line(unsigned line) {
  return "File '" + std::string(__FILE__) + "', line " + std::to_string(line);
}

// The example of asyncio's documentation: a task of a TaskGroup prints its own frame, then its
// parent, one level in, at the `async with` line.
TEST(CallGraph, TheTaskGroupExampleReadsAsAsyncioPrintsIt) {
  std::string printed;
  unsigned test_line = 0, main_line = 0;
  std::string child_id, main_id, main_name;  // Task-N: N counts the process's tasks
  const weft::CoroutineFunction test{"test", [&] {
                                       test_line = __LINE__ + 1;
                                       printed = weft::format_call_graph();
                                     }};
  const weft::CoroutineFunction main{"main", [&] {
                                       main_id = hex_id(&weft::current_task().core());
                                       main_name = weft::current_task().get_name();
                                       main_line = __LINE__ + 1;
                                       weft::task_group([&](weft::TaskGroup& g) {
                                         child_id = id_of(g.create_task(test(), "test"));
                                       });
                                     }};
  weft::run(main(), deterministic());
  EXPECT_EQ(printed, "* Task(name='test', id=" + child_id +
                         ")\n"
                         "  + Call stack:\n"
                         "  |   " +
                         file_line(test_line) +
                         ", in async test()\n"
                         "  + Awaited by:\n"
                         "    * Task(name='" +
                         main_name + "', id=" + main_id +
                         ")\n"
                         "      + Call stack:\n"
                         "      |   " +
                         file_line(main_line) + ", in async main()");
}

// gather, shield and wait_for, each seen from the awaited task (graph_scenarios.py).
TEST(CallGraph, GatherShieldAndWaitForRecordTheAwaitingTask) {
  std::vector<std::string> graphs;
  unsigned wait_for_line = 0, leaf_line = 0;
  weft::Future<void> go;
  const weft::CoroutineFunction leaf{"leaf", [&] {
                                       leaf_line = __LINE__ + 1;
                                       weft::await(go);
                                     }};
  const weft::CoroutineFunction main{"main", [&] {
                                       auto a = weft::create_task(leaf(), "a");
                                       auto b = weft::create_task(leaf(), "b");
                                       auto c = weft::create_task(leaf(), "c");
                                       auto waiter = weft::create_task(
                                           [&] {
                                             weft::gather(a, b);
                                             weft::await(weft::shield(c));
                                           },
                                           "gatherer");
                                       auto timed = weft::create_task(
                                           [&] {
                                             wait_for_line = __LINE__ + 1;
                                             weft::wait_for(c, 100.0);
                                           },
                                           "timed");
                                       weft::sleep(0.001);
                                       graphs.push_back(weft::format_call_graph(a));
                                       graphs.push_back(weft::format_call_graph(c));
                                       go.set_result();
                                       weft::await(waiter);
                                       weft::await(timed);
                                     }};
  weft::run(main(), deterministic());
  ASSERT_EQ(graphs.size(), 2u);
  const std::string leaf_frame = "  |   " + file_line(leaf_line) + ", in async leaf()\n";
  EXPECT_NE(graphs[0].find(leaf_frame), std::string::npos) << leaf_frame << graphs[0];
  EXPECT_NE(graphs[0].find("  + Awaited by:\n    * Task(name='gatherer', id=0x"), std::string::npos)
      << graphs[0];
  // gather(...) has no place for its caller's line: the frame is shown where it was made (for a
  // lambda, inside create_task).
  EXPECT_NE(graphs[0].find("    * Task(name='gatherer', id=0x"), std::string::npos) << graphs[0];
  EXPECT_NE(graphs[0].find(", in async <lambda>()"), std::string::npos) << graphs[0];
  // c: awaited by the gatherer (not yet: it is still in gather) -- only by `timed`.
  EXPECT_NE(graphs[1].find("    * Task(name='timed', id=0x"), std::string::npos) << graphs[1];
  EXPECT_NE(graphs[1].find("      |   " + file_line(wait_for_line) + ", in async <lambda>()"),
            std::string::npos)
      << graphs[1];
  EXPECT_EQ(graphs[1].find("gatherer"), std::string::npos) << graphs[1];
}

// Once the await is over the record is gone: the awaited future names nobody.
TEST(CallGraph, TheRecordGoesWhenTheWaitEnds) {
  std::string during, after_done, after_gather;
  weft::run(
      [&] {
        weft::Future<int> f;
        auto waiter = weft::create_task([f] { return weft::await(f); }, "waiter");
        weft::sleep(0);
        during = walk(weft::capture_call_graph(f));
        f.set_result(1);
        weft::await(waiter);
        after_done = walk(weft::capture_call_graph(f));
        auto child = weft::create_task([] { weft::sleep(0); }, "child");
        weft::gather(child);
        after_gather = walk(weft::capture_call_graph(child));
      },
      deterministic());
  EXPECT_EQ(during, "['F', [], [['T<waiter>', ['a <lambda>'], []]]]");
  EXPECT_EQ(after_done, "['F', [], []]");
  EXPECT_EQ(after_gather, "['T<child>', [], []]");
}

// depth skips frames from the top of the current task's stack; limit keeps |limit| frames of
// every stack: the outermost if positive, the innermost if negative; 0 none.
TEST(CallGraph, DepthAndLimit) {
  std::vector<std::string> walks;
  std::string printed_limit_zero;
  const weft::CoroutineFunction c3{
      "c3", [&] {
        for (int depth : {1, 2, 3, 4})
          walks.push_back(walk(*weft::capture_call_graph({.depth = depth})));
        for (int limit : {2, -2, 0, 7})
          walks.push_back(walk(*weft::capture_call_graph({.limit = limit})));
        printed_limit_zero = weft::format_call_graph({.limit = 0});
      }};
  const weft::CoroutineFunction c2{"c2", [&] { weft::await(c3()); }};
  const weft::CoroutineFunction c1{"c1", [&] { weft::await(c2()); }};
  weft::run(c1(), deterministic());
  ASSERT_EQ(walks.size(), 8u);
  EXPECT_EQ(walks[0], "['T<anon>', ['a c3', 'a c2', 'a c1'], []]");
  EXPECT_EQ(walks[1], "['T<anon>', ['a c2', 'a c1'], []]");
  EXPECT_EQ(walks[2], "['T<anon>', ['a c1'], []]");
  EXPECT_EQ(walks[3], "['T<anon>', [], []]");
  EXPECT_EQ(walks[4], "['T<anon>', ['a c2', 'a c1'], []]");
  EXPECT_EQ(walks[5], "['T<anon>', ['a c3', 'a c2'], []]");
  EXPECT_EQ(walks[6], "['T<anon>', [], []]");
  EXPECT_EQ(walks[7], "['T<anon>', ['a c3', 'a c2', 'a c1'], []]");
  EXPECT_EQ(printed_limit_zero.find("Call stack"), std::string::npos) << printed_limit_zero;
}

TEST(CallGraph, LimitAppliesToTheAwaitersToo) {
  std::string outermost, innermost;
  const weft::CoroutineFunction inner{"inner", [](weft::Future<void> f) { weft::await(f); }};
  const weft::CoroutineFunction outer{"outer",
                                      [&](weft::Future<void> f) { weft::await(inner(f)); }};
  weft::run(
      [&] {
        weft::Future<void> f;
        auto t = weft::create_task(outer(f), "t");
        weft::sleep(0);
        outermost = walk(weft::capture_call_graph(f, {.limit = 1}));
        innermost = walk(weft::capture_call_graph(f, {.limit = -1}));
        f.set_result();
        weft::await(t);
      },
      deterministic());
  EXPECT_EQ(outermost, "['F', [], [['T<t>', ['a outer'], []]]]");
  EXPECT_EQ(innermost, "['F', [], [['T<t>', ['a inner'], []]]]");
}

TEST(CallGraph, OutsideARuntime) {
  EXPECT_THROW(weft::capture_call_graph(), weft::RuntimeError);
  weft::Future<int> f;  // made outside any runtime: its graph is just itself
  EXPECT_EQ(walk(weft::capture_call_graph(f)), "['F', [], []]");
  EXPECT_EQ(weft::format_call_graph(f).rfind("* Future(id=0x", 0), 0u);
}

TEST(CallGraph, InACallbackThereIsNoCurrentTask) {
  bool empty = false, none = false;
  weft::run(
      [&] {
        weft::Future<void> done;
        weft::get_running_loop().call_soon([&, done]() mutable {
          none = !weft::capture_call_graph().has_value();
          empty = weft::format_call_graph().empty();
          done.set_result();
        });
        weft::await(done);
      },
      deterministic());
  EXPECT_TRUE(none);
  EXPECT_TRUE(empty);
}

// asyncio.future_add_to_awaited_by / future_discard_from_awaited_by.
TEST(CallGraph, RecordsMadeByHand) {
  std::string recorded, discarded;
  weft::run(
      [&] {
        weft::Future<int> f;
        auto watcher = weft::create_task([] { weft::sleep(10.0); }, "watcher");
        weft::sleep(0);
        weft::future_add_to_awaited_by(f, watcher);
        weft::future_add_to_awaited_by(f, watcher);  // a set: once
        recorded = walk(weft::capture_call_graph(f));
        weft::future_discard_from_awaited_by(f, watcher);
        discarded = walk(weft::capture_call_graph(f));
        watcher.cancel();
      },
      deterministic());
  EXPECT_EQ(recorded, "['F', [], [['T<watcher>', ['a <lambda>'], []]]]");
  EXPECT_EQ(discarded, "['F', [], []]");
}

// A foreign thread captures the graphs of tasks that workers keep changing: chains of awaits,
// gathers and task groups forming and ending. Under TSan this is the test of the locking; here it
// checks that every capture is a well-formed graph of the tasks that exist.
TEST(CallGraph, CaptureFromAForeignThreadWhileWorkersRun) {
  std::atomic<bool> stop{false};
  std::atomic<long> captures{0};
  std::atomic<long> awaited_seen{0};
  weft::Future<void> root_future;
  std::vector<weft::TaskRef> roots;
  std::mutex roots_mutex;
  const long rounds = weft_compose_test::scaled(200);
  weft::Runtime rt(weft::RunOptions{.workers = 2});
  std::thread capturer([&] {
    while (!stop.load(std::memory_order_acquire)) {
      std::vector<weft::TaskRef> snapshot;
      {
        std::lock_guard lock(roots_mutex);
        snapshot = roots;
      }
      for (auto& task : snapshot) {
        auto graph = weft::capture_call_graph(task);
        std::string text = weft::format_call_graph(task);
        EXPECT_EQ(text.rfind("* Task(name='leaf-", 0), 0u) << text;
        if (!graph.awaited_by.empty()) awaited_seen.fetch_add(1, std::memory_order_relaxed);
        for (const auto& parent : graph.awaited_by) EXPECT_TRUE(parent.is_task());
        captures.fetch_add(1, std::memory_order_relaxed);
      }
      std::this_thread::yield();
    }
  });
  const weft::CoroutineFunction deeper{"deeper", [](int n) {
                                         weft::sleep(0);
                                         return n;
                                       }};
  auto done = weft::run_coroutine_threadsafe(
      [&] {
        // Until the capturer has captured a few times too: on a loaded machine the rounds may
        // all pass before its thread first runs.
        for (long round = 0; round < rounds || captures.load(std::memory_order_relaxed) < 20;
             ++round) {
          std::vector<weft::Task<int>> leaves;
          for (int i = 0; i < 4; ++i) {
            leaves.push_back(weft::create_task(
                [&, i] {
                  weft::sleep(0);
                  return weft::await(deeper(i));
                },
                "leaf-" + std::to_string(i)));
          }
          {
            std::lock_guard lock(roots_mutex);
            roots.clear();
            for (auto& l : leaves) roots.emplace_back(l.state());
          }
          auto a = weft::create_task([&] { return weft::await(leaves[0]); });
          auto g = weft::create_task([&] { weft::gather(leaves[1], leaves[2]); });
          weft::task_group([&](weft::TaskGroup& tg) {
            tg.create_task([&] { weft::await(weft::shield(leaves[3])); });
            tg.create_task([&] { weft::wait_for(leaves[0], 10.0); });
          });
          weft::await(a);
          weft::await(g);
        }
      },
      rt);
  done.result();
  stop.store(true, std::memory_order_release);
  capturer.join();
  EXPECT_GE(captures.load(), 20);
}

}  // namespace
