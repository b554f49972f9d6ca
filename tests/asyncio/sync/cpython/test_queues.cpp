// CPython's Lib/test/test_asyncio/test_queues.py, ported: the shutdown tests (asyncio 3.13's
// Queue.shutdown), QueueShutdownTests and its LifoQueue and PriorityQueue twins. One body per
// CPython method, run for each queue class on 1 and 2 workers; on 1 worker every step happens
// in asyncio's order, on 2 each check waits (let_run) until everything woken has run.
#include <gtest/gtest.h>

#include <string>

#include "../sync_test_support.hpp"

namespace {

using weft_sync_test::let_run;
using weft_sync_test::outcome;
using weft_sync_test::virtual_time;

class QueueShutdownTests : public ::testing::TestWithParam<unsigned> {};
class LifoQueueShutdownTests : public ::testing::TestWithParam<unsigned> {};
class PriorityQueueShutdownTests : public ::testing::TestWithParam<unsigned> {};

// What asyncio's Queue._format() returns: repr() without "<Kind " and ">".
std::string format(const std::string& repr) {
  return repr.substr(repr.find(' ') + 1, repr.size() - repr.find(' ') - 2);
}

// Every put and get raises QueueShutDown (the queue is shut down and empty).
template <class Q>
void expect_puts_and_gets_raise(Q& q) {
  EXPECT_THROW(q.put("data"), weft::QueueShutDown);
  EXPECT_THROW(q.put_nowait("data"), weft::QueueShutDown);
  EXPECT_THROW(q.get(), weft::QueueShutDown);
  EXPECT_THROW(q.get_nowait(), weft::QueueShutDown);
}

template <class Q>
void test_format_body(unsigned workers) {
  weft::run(
      [] {
        Q q;
        EXPECT_EQ(format(q.repr()), "maxsize=0");
        q.shutdown();
        EXPECT_EQ(format(q.repr()), "maxsize=0 shutdown");
      },
      virtual_time(workers));
}

template <class Q>
void test_shutdown_empty_body(unsigned workers) {
  weft::run(
      [workers] {
        Q q;
        auto get_task = weft::create_task([&q] { return q.get(); });
        let_run(workers);  // the getter waits before the shutdown
        EXPECT_EQ(format(q.repr()), "maxsize=0 _getters[1]");

        q.shutdown(false);  // unfinished tasks: 0 -> 0
        EXPECT_EQ(q.qsize(), 0u);

        q.join();  // returns at once
        let_run(workers);
        EXPECT_TRUE(get_task.done());  // woken by the shutdown, and raised
        EXPECT_EQ(outcome(get_task), "QueueShutDown");

        expect_puts_and_gets_raise(q);
      },
      virtual_time(workers));
}

template <class Q>
void test_shutdown_nonempty_body(unsigned workers) {
  weft::run(
      [workers] {
        Q q(1);
        q.put_nowait("data");
        auto join_task = weft::create_task([&q] { q.join(); });
        auto put_task = weft::create_task([&q] { q.put("data2"); });
        let_run(workers);
        EXPECT_FALSE(put_task.done());  // the queue is full

        q.shutdown(false);  // unfinished tasks: 1 -> 1
        EXPECT_EQ(q.qsize(), 1u);

        let_run(workers);
        EXPECT_TRUE(put_task.done());  // woken by the shutdown, and raised
        EXPECT_EQ(outcome(put_task), "QueueShutDown");

        EXPECT_EQ(q.get(), "data");  // what was queued before the shutdown is still got
        let_run(workers);
        EXPECT_FALSE(join_task.done());  // "data" is not task_done() yet

        expect_puts_and_gets_raise(q);

        q.task_done();
        let_run(workers);
        EXPECT_TRUE(join_task.done());
        EXPECT_EQ(outcome(join_task), "ok");
        EXPECT_THROW(q.task_done(), weft::ValueError);
      },
      virtual_time(workers));
}

template <class Q>
void test_shutdown_immediate_body(unsigned workers) {
  weft::run(
      [workers] {
        Q q;
        q.put_nowait("data");
        auto join_task = weft::create_task([&q] { q.join(); });

        q.shutdown(true);  // unfinished tasks: 1 -> 0, the item dropped
        EXPECT_EQ(q.qsize(), 0u);

        let_run(workers);
        EXPECT_TRUE(join_task.done());
        EXPECT_EQ(outcome(join_task), "ok");

        expect_puts_and_gets_raise(q);

        EXPECT_THROW(q.task_done(), weft::ValueError);  // the dropped item counted as done
      },
      virtual_time(workers));
}

template <class Q>
void test_shutdown_immediate_with_unfinished_body(unsigned workers) {
  weft::run(
      [workers] {
        Q q;
        q.put_nowait("data");
        q.put_nowait("data");
        auto join_task = weft::create_task([&q] { q.join(); });
        EXPECT_EQ(q.get(), "data");

        q.shutdown(true);  // unfinished tasks: 2 -> 1 (the item got is not done yet)
        EXPECT_EQ(q.qsize(), 0u);

        let_run(workers);
        EXPECT_FALSE(join_task.done());

        expect_puts_and_gets_raise(q);

        q.task_done();  // the one unfinished task
        EXPECT_THROW(q.task_done(), weft::ValueError);

        let_run(workers);
        EXPECT_TRUE(join_task.done());
        EXPECT_EQ(outcome(join_task), "ok");
      },
      virtual_time(workers));
}

// Each CPython method, for each of the three queue classes.
#define WEFT_QUEUE_SHUTDOWN_TEST(method)                         \
  TEST_P(QueueShutdownTests, method) {                           \
    method##_body<weft::Queue<std::string>>(GetParam());         \
  }                                                              \
  TEST_P(LifoQueueShutdownTests, method) {                       \
    method##_body<weft::LifoQueue<std::string>>(GetParam());     \
  }                                                              \
  TEST_P(PriorityQueueShutdownTests, method) {                   \
    method##_body<weft::PriorityQueue<std::string>>(GetParam()); \
  }

WEFT_QUEUE_SHUTDOWN_TEST(test_format)
WEFT_QUEUE_SHUTDOWN_TEST(test_shutdown_empty)
WEFT_QUEUE_SHUTDOWN_TEST(test_shutdown_nonempty)
WEFT_QUEUE_SHUTDOWN_TEST(test_shutdown_immediate)
WEFT_QUEUE_SHUTDOWN_TEST(test_shutdown_immediate_with_unfinished)

INSTANTIATE_TEST_SUITE_P(Workers, QueueShutdownTests,
                         ::testing::ValuesIn(weft_sync_test::port_workers()));
INSTANTIATE_TEST_SUITE_P(Workers, LifoQueueShutdownTests,
                         ::testing::ValuesIn(weft_sync_test::port_workers()));
INSTANTIATE_TEST_SUITE_P(Workers, PriorityQueueShutdownTests,
                         ::testing::ValuesIn(weft_sync_test::port_workers()));

}  // namespace
