// The scheduler's queues on their own, beside the exhaustive interleavings of tests/model/: the
// run queue (owner FIFO, capacity, stealing half, spilling half), the injection queue (FIFO,
// batches, many producers) and the timer queue (deadline order, equal deadlines in the order
// set, stale timers dropped, the take-over by another worker).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <thread>
#include <vector>

#include "sched/injection_queue.hpp"
#include "sched/run_queue.hpp"
#include "sched/timer_queue.hpp"

namespace {

using weft::detail::InjectionQueue;
using weft::detail::Runnable;
using weft::detail::RunQueue;
using weft::detail::TimerCallback;
using weft::detail::TimerQueue;

struct Item final : Runnable {
  int id = 0;
  void run() override {}
};

std::vector<std::unique_ptr<Item>> make_items(int n) {
  std::vector<std::unique_ptr<Item>> items;
  for (int i = 0; i < n; ++i) {
    items.push_back(std::make_unique<Item>());
    items.back()->id = i;
  }
  return items;
}

int id_of(Runnable* r) {
  return static_cast<Item*>(r)->id;
}

TEST(RunQueue, TheOwnerPopsInTheOrderItPushed) {
  auto items = make_items(10);
  RunQueue q;
  EXPECT_TRUE(q.empty());
  for (auto& i : items) ASSERT_TRUE(q.push(i.get()));
  EXPECT_EQ(q.size(), 10u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(id_of(q.pop()), i);
  EXPECT_EQ(q.pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(RunQueue, AFullQueueRefusesAPushAndSpillsHalfPlusTheNewItemAsALinkedBatch) {
  auto items = make_items(RunQueue::capacity + 1);
  RunQueue q;
  for (std::uint32_t i = 0; i < RunQueue::capacity; ++i) ASSERT_TRUE(q.push(items[i].get()));
  Item* extra = items[RunQueue::capacity].get();
  EXPECT_FALSE(q.push(extra));
  Runnable* first = nullptr;
  Runnable* last = nullptr;
  std::uint32_t n = q.take_half_for_spill(extra, first, last);
  ASSERT_EQ(n, RunQueue::capacity / 2 + 1);
  // The oldest half, in order, then the new item.
  int expected = 0;
  for (Runnable* r = first; r; r = r->next_in_queue.load()) {
    if (r == extra) {
      EXPECT_EQ(r, last);
      break;
    }
    EXPECT_EQ(id_of(r), expected++);
  }
  EXPECT_EQ(expected, static_cast<int>(RunQueue::capacity / 2));
  EXPECT_EQ(q.size(), RunQueue::capacity / 2);
  EXPECT_EQ(id_of(q.pop()), static_cast<int>(RunQueue::capacity / 2));
}

TEST(RunQueue, AThiefTakesTheOlderHalfAndRunsOneOfThem) {
  auto items = make_items(8);
  RunQueue victim, thief;
  for (auto& i : items) ASSERT_TRUE(victim.push(i.get()));
  Runnable* run_now = victim.steal_half_into(thief);
  ASSERT_NE(run_now, nullptr);
  EXPECT_EQ(id_of(run_now), 3);  // the last of the four taken
  EXPECT_EQ(thief.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(id_of(thief.pop()), i);
  EXPECT_EQ(victim.size(), 4u);
  EXPECT_EQ(id_of(victim.pop()), 4);
  RunQueue empty;
  EXPECT_EQ(empty.steal_half_into(thief), nullptr);
}

TEST(RunQueueStress, OwnerAndThievesTakeEveryItemExactlyOnce) {
  constexpr int kItems = 200'000;
  auto items = make_items(kItems);
  RunQueue q;
  std::vector<std::atomic<int>> taken(kItems);
  std::atomic<bool> done{false};
  std::vector<std::thread> thieves;
  for (int t = 0; t < 3; ++t) {
    thieves.emplace_back([&] {
      RunQueue mine;
      while (!done.load() || !q.empty()) {
        if (Runnable* r = q.steal_half_into(mine)) {
          taken[id_of(r)].fetch_add(1);
          while (Runnable* more = mine.pop()) taken[id_of(more)].fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < kItems; ++i) {
    while (!q.push(items[i].get())) {
      if (Runnable* r = q.pop()) taken[id_of(r)].fetch_add(1);
    }
    if (i % 3 == 0) {
      if (Runnable* r = q.pop()) taken[id_of(r)].fetch_add(1);
    }
  }
  while (Runnable* r = q.pop()) taken[id_of(r)].fetch_add(1);
  done = true;
  for (auto& t : thieves) t.join();
  for (int i = 0; i < kItems; ++i) ASSERT_EQ(taken[i].load(), 1) << "item " << i;
}

TEST(InjectionQueue, PopsSinglesAndBatchesInTheOrderPushed) {
  auto items = make_items(6);
  InjectionQueue q;
  EXPECT_TRUE(q.empty());
  q.push(items[0].get());
  // A batch of three, linked first..last.
  items[1]->next_in_queue.store(items[2].get());
  items[2]->next_in_queue.store(items[3].get());
  q.push_batch(items[1].get(), items[3].get(), 3);
  q.push(items[4].get());
  for (int i = 0; i < 5; ++i) {
    Runnable* r = q.try_pop();
    ASSERT_NE(r, nullptr) << i;
    EXPECT_EQ(id_of(r), i);
  }
  EXPECT_EQ(q.try_pop(), nullptr);
  EXPECT_TRUE(q.empty());
}

TEST(InjectionQueueStress, ManyProducersAndConsumersEachItemOnceInEachProducersOrder) {
  constexpr int kProducers = 4, kPerProducer = 50'000;
  auto items = make_items(kProducers * kPerProducer);
  InjectionQueue q;
  std::vector<std::atomic<int>> taken(items.size());
  std::atomic<int> producers_left{kProducers};
  std::atomic<bool> in_order{true};
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) q.push(items[p * kPerProducer + i].get());
      producers_left.fetch_sub(1);
    });
  }
  for (int c = 0; c < 2; ++c) {
    threads.emplace_back([&] {
      std::vector<int> last_seen(kProducers, -1);
      for (;;) {
        Runnable* r = q.try_pop();
        if (!r) {
          if (producers_left.load() == 0 && q.empty()) break;
          continue;
        }
        int id = id_of(r);
        taken[id].fetch_add(1);
        // One consumer's pops of one producer's items come in push order (the queue is FIFO).
        if (id % kPerProducer <= last_seen[id / kPerProducer]) in_order = false;
        last_seen[id / kPerProducer] = id % kPerProducer;
      }
    });
  }
  for (auto& t : threads) t.join();
  while (Runnable* r = q.try_pop()) taken[id_of(r)].fetch_add(1);
  for (std::size_t i = 0; i < items.size(); ++i) ASSERT_EQ(taken[i].load(), 1) << "item " << i;
  EXPECT_TRUE(in_order.load());
}

std::shared_ptr<TimerCallback> timer(std::int64_t when, std::vector<int>& log, int id) {
  auto t = std::make_shared<TimerCallback>();
  t->when_ns = when;
  t->callback = [&log, id] { log.push_back(id); };
  return t;
}

TEST(TimerQueue, FiresInDeadlineOrderAndEqualDeadlinesInTheOrderSet) {
  std::vector<int> log;
  TimerQueue q;
  EXPECT_TRUE(q.empty());
  // In order (the ring), then earlier ones (the heap), and ties.
  q.add(timer(10, log, 1));
  q.add(timer(20, log, 2));
  q.add(timer(20, log, 3));
  q.add(timer(5, log, 4));
  q.add(timer(15, log, 5));
  q.add(timer(5, log, 6));
  EXPECT_EQ(q.next_deadline(), 5);
  EXPECT_EQ(q.published_next_deadline(), 5);
  EXPECT_EQ(q.fire_due(4), 0u);
  EXPECT_EQ(q.fire_due(15), 4u);
  EXPECT_EQ(log, (std::vector<int>{4, 6, 1, 5}));
  EXPECT_EQ(q.fire_due(100), 2u);
  EXPECT_EQ(log, (std::vector<int>{4, 6, 1, 5, 2, 3}));
  EXPECT_TRUE(q.empty());
  EXPECT_EQ(q.published_next_deadline(), TimerQueue::none);
}

TEST(TimerQueue, ACancelledTimerNeverFiresAndNoLongerHoldsTheNextDeadline) {
  std::vector<int> log;
  TimerQueue q;
  auto early = timer(5, log, 1);
  q.add(early);
  q.add(timer(50, log, 2));
  early->cancelled.store(true);
  EXPECT_EQ(q.fire_due(10), 0u);
  EXPECT_EQ(q.published_next_deadline(), 50);
  EXPECT_TRUE(log.empty());
}

TEST(TimerQueue, ACallbackMaySetTimersOnTheQueueItFiresFrom) {
  std::vector<int> log;
  TimerQueue q;
  auto first = std::make_shared<TimerCallback>();
  first->when_ns = 1;
  first->callback = [&] {
    log.push_back(1);
    q.add(timer(2, log, 2));  // due too: fired by the same call
    q.add(timer(9, log, 3));
  };
  q.add(first);
  EXPECT_EQ(q.fire_due(5), 2u);
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  EXPECT_EQ(q.next_deadline(), 9);
}

TEST(TimerQueue, AnotherThreadTakesOverDueTimersWhileTheOwnerIsAway) {
  std::vector<int> log;
  TimerQueue q;
  q.add(timer(1, log, 1));
  q.add(timer(2, log, 2));
  q.add(timer(1000, log, 3));
  std::size_t fired = 0;
  std::thread other([&] { fired = q.take_over_due(10); });
  other.join();
  EXPECT_EQ(fired, 2u);
  EXPECT_EQ(log, (std::vector<int>{1, 2}));
  EXPECT_EQ(q.published_next_deadline(), 1000);
}

TEST(TimerQueueStress, OwnerAndHelpersFireEachTimerExactlyOnce) {
  constexpr int kTimers = 20'000;
  TimerQueue q;
  std::vector<std::atomic<int>> fired(kTimers);
  std::atomic<bool> done{false};
  std::vector<std::thread> helpers;
  for (int h = 0; h < 2; ++h) {
    helpers.emplace_back([&] {
      while (!done.load()) q.take_over_due(kTimers);
    });
  }
  for (int i = 0; i < kTimers; ++i) {
    auto t = std::make_shared<TimerCallback>();
    t->when_ns = (i * 7919) % kTimers;  // out of order: ring and heap both
    t->callback = [&fired, i] { fired[i].fetch_add(1); };
    q.add(std::move(t));
    if (i % 64 == 0) q.fire_due(i);
  }
  q.fire_due(kTimers);
  done = true;
  for (auto& h : helpers) h.join();
  q.fire_due(kTimers);
  for (int i = 0; i < kTimers; ++i) ASSERT_EQ(fired[i].load(), 1) << "timer " << i;
}

}  // namespace
