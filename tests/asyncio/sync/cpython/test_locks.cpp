// CPython's Lib/test/test_asyncio/test_locks.py, ported: SemaphoreTests' FIFO tests (a woken
// acquire() hands the permits left to the waiters behind it, CPython 3.13) and ConditionTests'
// wait_for tests (any result that converts to bool; the last one is returned; a notification
// reaching a waiter cancelled before it runs is passed on). Each runs on 1 and 2 workers: on 1
// the order and the counts at each step are asyncio's exactly; on 2, where tasks start and
// resume in parallel, each test checks what must hold however they interleave.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

#include "../sync_test_support.hpp"

namespace {

using weft_sync_test::let_run;
using weft_sync_test::outcome;
using weft_sync_test::repr_state;
using weft_sync_test::virtual_time;
using Log = std::vector<std::string>;

class SemaphoreTests : public ::testing::TestWithParam<unsigned> {};
class ConditionTests : public ::testing::TestWithParam<unsigned> {};

std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// An int log any task may append to.
class Order {
 public:
  void add(int n) {
    std::lock_guard lock(mutex_);
    entries_.push_back(n);
  }
  std::vector<int> entries() const {
    std::lock_guard lock(mutex_);
    return entries_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<int> entries_;
};

TEST_P(SemaphoreTests, test_acquire_fifo_order) {
  // Three tasks take a one-permit semaphore twice each: the second round follows the first
  // round's order, as every re-acquire queues behind the tasks still waiting.
  const unsigned workers = GetParam();
  weft_test_support::Log result;
  weft::run(
      [&] {
        weft::Semaphore sem(1);
        auto coro = [&](std::string tag) {
          sem.acquire();
          result.add(tag + "_1");
          weft::sleep(0.01);
          sem.release();

          sem.acquire();
          result.add(tag + "_2");
          weft::sleep(0.01);
          sem.release();
        };
        weft::task_group([&](weft::TaskGroup& tg) {
          for (const char* tag : {"c1", "c2", "c3"})
            tg.create_task(weft::coro(coro, std::string(tag)));
        });
        EXPECT_EQ(sem.value(), 1);
      },
      virtual_time(workers));
  Log order = result.entries();
  if (workers == 1) {
    EXPECT_EQ(order, (Log{"c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"}));
  } else {
    // Which task starts first is up to the workers; the rest is FIFO.
    ASSERT_EQ(order.size(), 6u);
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(order[i].substr(2), "_1") << i;
      EXPECT_EQ(order[i + 3], order[i].substr(0, 2) + "_2") << i;
    }
  }
}

TEST_P(SemaphoreTests, test_acquire_fifo_order_2) {
  // c2 releases and re-acquires while c3, woken before it, has not run yet: c2 queues behind
  // c3, and c3 hands it the permit c2 gave back.
  const unsigned workers = GetParam();
  Order result;
  weft::run(
      [&] {
        weft::Semaphore sem(1);
        auto t1 = weft::create_task([&] {
          sem.acquire();
          result.add(1);
          return true;
        });
        auto t2 = weft::create_task([&] {
          sem.acquire();
          result.add(2);
          sem.release();
          sem.acquire();
          result.add(4);
          return true;
        });
        auto t3 = weft::create_task([&] {
          sem.acquire();
          result.add(3);
          return true;
        });
        let_run(workers);
        sem.release();
        sem.release();
        for (auto* t : {&t1, &t2, &t3}) EXPECT_EQ(outcome(*t), "ok");
        // Four acquires of 1 + 3 permits.
        EXPECT_EQ(sem.value(), 0);
      },
      virtual_time(workers));
  std::vector<int> order = result.entries();
  if (workers == 1) {
    EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
  } else {
    // The first holder of the permit is up to the workers; c2's two turns keep their order.
    EXPECT_EQ(sorted(order), (std::vector<int>{1, 2, 3, 4}));
    EXPECT_LT(std::find(order.begin(), order.end(), 2), std::find(order.begin(), order.end(), 4));
  }
}

TEST_P(SemaphoreTests, test_acquire_fifo_order_3) {
  // The first of three waiters is cancelled; the two permits released go to the other two.
  const unsigned workers = GetParam();
  Order result;
  weft::run(
      [&] {
        weft::Semaphore sem(0);
        std::vector<weft::Task<bool>> tasks;
        for (int n : {1, 2, 3}) {
          tasks.push_back(weft::create_task([&sem, &result, n] {
            sem.acquire();
            result.add(n);
            return true;
          }));
        }
        let_run(workers);
        tasks[0].cancel();
        let_run(workers);
        sem.release();
        sem.release();
        auto outcomes = weft::gather(weft::return_exceptions,
                                     std::vector(tasks));  // copies: gather takes its own handles
        EXPECT_TRUE(tasks[0].cancelled());
        EXPECT_TRUE(outcomes[1].has_value());
        EXPECT_TRUE(outcomes[2].has_value());
        EXPECT_EQ(sem.value(), 0);
      },
      virtual_time(workers));
  if (workers == 1) {
    EXPECT_EQ(result.entries(), (std::vector<int>{2, 3}));
  } else {
    EXPECT_EQ(sorted(result.entries()), (std::vector<int>{2, 3}));
  }
}

TEST_P(SemaphoreTests, test_acquire_fifo_order_4) {
  // c2 releases three permits while c1 is the only waiter: c1 gets one, and c2 and c3, who
  // arrive before c1 runs, queue behind it (FIFO) though two permits are free. When c1 runs it
  // wakes both at once (3.13; 3.12 woke only c2, which woke c3 in turn): the value is 0 there,
  // and a task c1 creates then runs after c3.
  const unsigned workers = GetParam();
  Order result;
  // What the tasks saw, checked on one worker, where it is exactly asyncio's.
  std::ptrdiff_t c1_value_before = -1, c1_value_after = -1, c2_value = -1;
  bool c2_locked = false, c3_locked = false;
  std::ptrdiff_t main_value = -1;
  std::string main_repr;
  weft::run(
      [&] {
        weft::Semaphore sem(0);
        weft::Task<bool> t4;
        auto c4 = [&] {
          result.add(4);
          return true;
        };
        auto t1 = weft::create_task([&] {
          c1_value_before = sem.value();
          sem.acquire();
          c1_value_after = sem.value();
          t4 = weft::create_task(c4);  // runs after c3, not right after c2
          result.add(1);
          return true;
        });
        auto t2 = weft::create_task([&] {
          sem.release();
          sem.release();
          sem.release();
          c2_value = sem.value();
          c2_locked = sem.locked();  // c1 has not taken its permit yet
          sem.acquire();
          result.add(2);
          return true;
        });
        auto t3 = weft::create_task([&] {
          sem.acquire();
          c3_locked = sem.locked();
          result.add(3);
          return true;
        });
        weft::sleep(0);
        // The three wait; c1 has been woken but has not run.
        main_value = sem.value();
        main_repr = repr_state(sem.repr());
        let_run(workers);
        for (auto* t : {&t1, &t2, &t3}) EXPECT_EQ(outcome(*t), "ok");
        ASSERT_TRUE(t4);  // c1 made it, before it finished
        EXPECT_EQ(outcome(t4), "ok");
        EXPECT_EQ(sem.value(), 0);  // three releases, three acquires
      },
      virtual_time(workers));
  if (workers == 1) {
    EXPECT_EQ(c1_value_before, 0);
    EXPECT_EQ(c2_value, 2);
    EXPECT_TRUE(c2_locked);
    EXPECT_EQ(main_value, 2);
    EXPECT_EQ(main_repr, "locked, waiters:3]>");
    EXPECT_EQ(c1_value_after, 0);  // c1 woke c2 and c3 at once (3.12 left 1 here)
    EXPECT_TRUE(c3_locked);
    EXPECT_EQ(result.entries(), (std::vector<int>{1, 2, 3, 4}));
  } else {
    EXPECT_EQ(sorted(result.entries()), (std::vector<int>{1, 2, 3, 4}));
  }
}

TEST_P(ConditionTests, test_wait_for) {
  // wait_for checks its predicate first and after each notification, and returns once it holds.
  const unsigned workers = GetParam();
  weft_test_support::Log result;
  weft::run(
      [&] {
        weft::Condition cond;
        bool presult = false;  // read with the lock held; written before taking it
        int checks = 0;
        auto t = weft::create_task([&] {
          cond.acquire();
          if (cond.wait_for([&] {
                ++checks;
                return presult;
              })) {
            result.add("1");
            cond.release();
          }
          return true;
        });
        let_run(workers);
        EXPECT_TRUE(result.entries().empty());

        cond.acquire();
        cond.notify();
        cond.release();
        let_run(workers);
        EXPECT_TRUE(result.entries().empty());  // notified, but the predicate is still false

        presult = true;
        cond.acquire();
        cond.notify();
        cond.release();
        let_run(workers);
        EXPECT_EQ(result.entries(), (Log{"1"}));

        EXPECT_TRUE(t.done());
        EXPECT_TRUE(t.result());
        EXPECT_EQ(checks, 3);  // first, then once per notification
      },
      virtual_time(workers));
}

// A Python list's truth: true when not empty. A result that converts to bool only explicitly.
struct List {
  std::vector<int> items;
  explicit operator bool() const { return !items.empty(); }
};

TEST_P(ConditionTests, test_wait_for_unacquired) {
  // A predicate already true returns its result without the lock ever being needed; a false one
  // must wait, which needs the lock.
  weft::run(
      [] {
        weft::Condition cond;
        auto res = cond.wait_for([] { return List{{1, 2, 3}}; });
        static_assert(std::is_same_v<decltype(res), List>);
        EXPECT_EQ(res.items, (std::vector<int>{1, 2, 3}));

        try {
          cond.wait_for([] { return false; });
          ADD_FAILURE() << "wait_for on an un-acquired lock returned";
        } catch (const weft::RuntimeError& e) {
          EXPECT_STREQ(e.what(), "cannot wait on un-acquired lock");
        }
      },
      virtual_time(GetParam()));
}

// CPython's test_cancelled_wakeup and test_cancelled_wakeup_relock: two consumers wait_for a
// token; one is notified and cancelled before it gets the lock back -- while its wake-up is
// still pending, or (relock) once it waits for the lock. The notification must not be lost:
// the other consumer takes the token. (Nobody notifies the producer's own wait_for, so it ends
// by timeout with the lock held again, as in CPython.)
void cancelled_wakeup_body(unsigned workers, bool relock) {
  weft::run(
      [workers, relock] {
        weft::Condition condition;
        int state = 0;  // guarded by the condition's lock
        auto consumer = [&] {
          weft::LockGuard guard(condition);
          for (;;) {
            condition.wait_for([&] { return state != 0; });
            if (state < 0) return;
            state -= 1;
          }
        };
        std::vector<weft::Task<void>> c;
        for (int i = 0; i < 2; ++i) c.push_back(weft::create_task(consumer));
        let_run(workers);  // both wait
        {
          weft::LockGuard guard(condition);
          state += 1;
          condition.notify(1);
          // relock: c[0] wakes and waits for the lock we hold.
          if (relock) let_run(workers);
          c[0].cancel();
          try {
            weft::timeout(0.01, [&] { condition.wait_for([&] { return state == 0; }); });
          } catch (const weft::TimeoutError&) {
          }
          EXPECT_EQ(state, 0);  // the token was taken: by c[1], since c[0] was cancelled
          state = -1;
          condition.notify_all();
        }
        EXPECT_EQ(outcome(c[1]), "ok");
        EXPECT_EQ(outcome(c[0]), "cancelled");
        EXPECT_FALSE(condition.locked());
      },
      virtual_time(workers));
}

TEST_P(ConditionTests, test_cancelled_wakeup) {
  cancelled_wakeup_body(GetParam(), false);
}

TEST_P(ConditionTests, test_cancelled_wakeup_relock) {
  cancelled_wakeup_body(GetParam(), true);
}

INSTANTIATE_TEST_SUITE_P(Workers, SemaphoreTests,
                         ::testing::ValuesIn(weft_sync_test::port_workers()));
INSTANTIATE_TEST_SUITE_P(Workers, ConditionTests,
                         ::testing::ValuesIn(weft_sync_test::port_workers()));

}  // namespace
