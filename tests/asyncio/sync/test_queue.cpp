// Queue, LifoQueue, PriorityQueue: maxsize makes put() wait, get() waits for an item, the
// nowait variants raise QueueFull / QueueEmpty, task_done()/join(), LIFO and priority order,
// getters and putters served in FIFO order, an item or a free slot handed to a waiter cancelled
// before it runs passes on, shutdown() wakes every waiter and drops items outside the lock; and
// many producers and consumers, some cancelled, on 2-8 workers losing and duplicating nothing,
// also when a shutdown races them (4 workers).
// The one-worker scenarios print what tests/asyncio/sync/cpython/queue_scenarios.py prints.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "sync_test_support.hpp"

namespace {

using weft_sync_test::deterministic;
using weft_sync_test::outcome;
using Log = std::vector<std::string>;

std::string py(bool b) {
  return b ? "True" : "False";
}

TEST(Queue, PutWaitsWhileTheQueueIsFull) {
  Log log;
  weft::run(
      [&] {
        weft::Queue<int> q(2);
        auto producer = weft::create_task([&] {
          for (int i = 0; i < 5; ++i) {
            q.put(i);
            log.push_back("put " + std::to_string(i) + " (qsize " + std::to_string(q.qsize()) +
                          ", full " + py(q.full()) + ")");
          }
        });
        auto consumer = weft::create_task([&] {
          for (int i = 0; i < 5; ++i) {
            weft::sleep(1.0);
            log.push_back("got " + std::to_string(q.get()));
            q.task_done();
          }
        });
        EXPECT_EQ(outcome(producer), "ok");
        EXPECT_EQ(outcome(consumer), "ok");
        log.push_back("empty " + py(q.empty()));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"put 0 (qsize 1, full False)", "put 1 (qsize 2, full True)", "got 0",
                      "put 2 (qsize 2, full True)", "got 1", "put 3 (qsize 2, full True)", "got 2",
                      "put 4 (qsize 2, full True)", "got 3", "got 4", "empty True"}));
}

TEST(Queue, NowaitVariantsRaiseQueueEmptyAndQueueFull) {
  weft::Queue<std::string> q(1);
  EXPECT_THROW(q.get_nowait(), weft::QueueEmpty);
  q.put_nowait("x");
  std::string y = "y";
  EXPECT_THROW(q.put_nowait(std::move(y)), weft::QueueFull);
  EXPECT_EQ(y, "y");  // a refused item is not moved from
  EXPECT_EQ(q.get_nowait(), "x");
  q.task_done();
  try {
    q.task_done();
    FAIL() << "a second task_done() for one item returned";
  } catch (const weft::ValueError& e) {
    EXPECT_STREQ(e.what(), "task_done() called too many times");
  }
  // Both are plain std::exceptions (Python's Exception subclasses), not CancelledError-like.
  EXPECT_THROW(throw weft::QueueEmpty(), std::exception);
  EXPECT_THROW(throw weft::QueueFull(), std::exception);
  // maxsize <= 0: unbounded, never full.
  EXPECT_FALSE(weft::Queue<int>().full());
  EXPECT_FALSE(weft::Queue<int>(-3).full());
  EXPECT_EQ(weft::Queue<int>(-3).maxsize(), -3);
}

TEST(Queue, JoinWaitsUntilEveryItemIsTaskDone) {
  Log log;
  weft::run(
      [&] {
        weft::Queue<int> q;
        auto worker = [&](std::string name) {
          for (;;) {
            int item = q.get();
            weft::sleep(static_cast<double>(item));
            log.push_back(name + " done " + std::to_string(item));
            q.task_done();
          }
        };
        for (int item : {3, 1, 2}) q.put_nowait(item);
        EXPECT_EQ(q.repr(), "<Queue maxsize=0 qsize=3 tasks=3>");
        auto a = weft::create_task(weft::coro(worker, std::string("a")));
        auto b = weft::create_task(weft::coro(worker, std::string("b")));
        double start = weft::get_running_loop().time();
        q.join();
        log.push_back("joined at " +
                      std::to_string(static_cast<int>(weft::get_running_loop().time() - start)));
        a.cancel();
        b.cancel();
        EXPECT_EQ(outcome(a), "cancelled");
        EXPECT_EQ(outcome(b), "cancelled");
        EXPECT_EQ(q.repr(), "<Queue maxsize=0>");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"b done 1", "a done 3", "b done 2", "joined at 3"}));
}

TEST(Queue, LifoQueueReturnsNewestFirstAndPriorityQueueSmallestFirst) {
  weft::LifoQueue<int> lq;
  weft::PriorityQueue<int> pq;
  for (int i : {1, 2, 3}) lq.put_nowait(i);
  for (int i : {5, 1, 4, 2, 3}) pq.put_nowait(i);
  std::vector<int> lifo, priority;
  for (int i = 0; i < 3; ++i) lifo.push_back(lq.get_nowait());
  for (int i = 0; i < 5; ++i) priority.push_back(pq.get_nowait());
  EXPECT_EQ(lifo, (std::vector<int>{3, 2, 1}));
  EXPECT_EQ(priority, (std::vector<int>{1, 2, 3, 4, 5}));
  // A custom order, and (priority, data) pairs as Python's tuples.
  weft::PriorityQueue<int, std::greater<int>> largest_first;
  for (int i : {2, 9, 4}) largest_first.put_nowait(i);
  EXPECT_EQ(largest_first.get_nowait(), 9);
  weft::PriorityQueue<std::pair<int, std::string>> jobs;
  jobs.put_nowait({2, "later"});
  jobs.put_nowait({1, "first"});
  EXPECT_EQ(jobs.get_nowait().second, "first");
  EXPECT_EQ(jobs.repr(), "<PriorityQueue maxsize=0 qsize=1 tasks=2>");
}

TEST(Queue, MoveOnlyItemsWork) {
  weft::run(
      [] {
        weft::Queue<std::unique_ptr<int>> q(1);
        auto producer = weft::create_task([&] {
          for (int i = 0; i < 3; ++i) q.put(std::make_unique<int>(i));
        });
        int sum = 0;
        for (int i = 0; i < 3; ++i) sum += *q.get();
        EXPECT_EQ(sum, 3);
        EXPECT_EQ(outcome(producer), "ok");
      },
      deterministic());
}

TEST(Queue, AnItemHandedToACancelledGetterPassesOn) {
  Log log;
  weft::run(
      [&] {
        weft::Queue<int> q;
        auto getter = [&](std::string name) {
          try {
            log.push_back(name + " got " + std::to_string(q.get()));
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
        };
        std::vector<weft::Task<void>> tasks;
        for (const char* name : {"a", "b", "c"}) {
          tasks.push_back(weft::create_task(weft::coro(getter, std::string(name))));
        }
        weft::sleep(0);
        q.put_nowait(1);    // wakes a...
        tasks[0].cancel();  // ...which is cancelled before it runs: b must get the item
        q.put_nowait(2);    // wakes c (b was woken already)
        EXPECT_EQ(outcome(tasks[0]), "cancelled");
        EXPECT_EQ(outcome(tasks[1]), "ok");
        EXPECT_EQ(outcome(tasks[2]), "ok");
        log.push_back("qsize " + std::to_string(q.qsize()));
      },
      deterministic());
  EXPECT_EQ(log, (Log{"a cancelled", "b got 1", "c got 2", "qsize 0"}));
}

TEST(Queue, AFreeSlotHandedToACancelledPutterPassesOn) {
  Log log;
  weft::run(
      [&] {
        weft::Queue<int> q(1);
        auto putter = [&](std::string name, int item) {
          try {
            q.put(item);
            log.push_back(name + " put " + std::to_string(item));
          } catch (const weft::CancelledError&) {
            log.push_back(name + " cancelled");
            throw;
          }
        };
        q.put_nowait(0);
        std::vector<weft::Task<void>> tasks;
        const std::vector<std::pair<const char*, int>> plan = {{"a", 1}, {"b", 2}, {"c", 3}};
        for (auto [name, item] : plan) {
          tasks.push_back(weft::create_task(weft::coro(putter, std::string(name), item)));
        }
        weft::sleep(0);
        log.push_back("got " + std::to_string(q.get_nowait()));  // wakes a...
        tasks[0].cancel();  // ...which is cancelled before it runs: b must get the slot
        weft::sleep(1.0);
        log.push_back("got " + std::to_string(q.get_nowait()));
        weft::sleep(1.0);
        log.push_back("got " + std::to_string(q.get_nowait()));
        EXPECT_EQ(outcome(tasks[0]), "cancelled");
        EXPECT_EQ(outcome(tasks[1]), "ok");
        EXPECT_EQ(outcome(tasks[2]), "ok");
      },
      deterministic());
  EXPECT_EQ(log, (Log{"got 0", "a cancelled", "b put 2", "got 2", "c put 3", "got 3"}));
}

TEST(Queue, ShutdownWakesEveryWaitingPutterAndGetter) {
  Log log;
  weft::run(
      [&] {
        auto attempt = [&](std::string name, auto op) {
          try {
            op();
            log.push_back(name + " ok");
          } catch (const weft::QueueShutDown& e) {
            log.push_back(name + " " + e.what());
          }
        };
        // Putters waiting on a full queue raise; the item queued before is still got.
        weft::Queue<int> full(1);
        full.put_nowait(0);
        std::vector<weft::Task<void>> tasks;
        for (int i = 1; i <= 3; ++i) {
          tasks.push_back(weft::create_task(
              weft::coro(attempt, "put " + std::to_string(i), [&full, i] { full.put(i); })));
        }
        weft::sleep(0);
        EXPECT_EQ(full.repr(), "<Queue maxsize=1 qsize=1 _putters[3] tasks=1>");
        full.shutdown();
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
        log.push_back("got " + std::to_string(full.get()));
        attempt("get", [&] { full.get(); });
        EXPECT_EQ(full.repr(), "<Queue maxsize=1 tasks=1 shutdown>");

        // Getters waiting on an empty queue: the item put before the shutdown goes to the first
        // (woken by the put, it has not run yet); the others raise.
        weft::LifoQueue<int> empty;
        tasks.clear();
        for (const char* name : {"a", "b", "c"}) {
          tasks.push_back(
              weft::create_task(weft::coro(attempt, std::string(name), [&empty, &log, name] {
                log.push_back(name + (" got " + std::to_string(empty.get())));
              })));
        }
        weft::sleep(0);
        empty.put_nowait(7);
        empty.shutdown();
        for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok");
        empty.task_done();
        empty.join();
      },
      deterministic());
  EXPECT_EQ(log,
            (Log{"put 1 QueueShutDown", "put 2 QueueShutDown", "put 3 QueueShutDown", "got 0",
                 "get QueueShutDown", "a got 7", "a ok", "b QueueShutDown", "c QueueShutDown"}));
}

TEST(Queue, ImmediateShutdownDropsTheItemsOutsideTheQueuesLock) {
  // An item's destructor may use the queue (here: qsize()); under the queue's lock it would
  // deadlock. The items are dropped after it is released, and each counts as task_done().
  std::vector<std::size_t> sizes_seen;
  weft::run(
      [&] {
        weft::PriorityQueue<std::shared_ptr<int>> q;
        for (int i = 0; i < 3; ++i) {
          q.put_nowait(std::shared_ptr<int>(new int(i), [&](int* p) {
            sizes_seen.push_back(q.qsize());
            delete p;
          }));
        }
        auto joiner = weft::create_task([&] { q.join(); });
        weft::sleep(0);
        q.shutdown(true);
        EXPECT_EQ(sizes_seen, (std::vector<std::size_t>{0, 0, 0}));
        EXPECT_EQ(outcome(joiner), "ok");
        EXPECT_THROW(q.task_done(), weft::ValueError);
        EXPECT_EQ(q.repr(), "<PriorityQueue maxsize=0 shutdown>");
      },
      deterministic());
}

// ---- stress: 2-8 workers

class QueueStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(QueueStress, ProducersAndConsumersLoseAndDuplicateNothing) {
  // A small bounded queue between 8 producers and 8 consumers; a quarter of the puts and gets
  // in flight are cancelled at random (some right after being woken). Every item put must come
  // out exactly once; join() must return once all are processed; nobody may hang.
  constexpr int producers = 8;
  constexpr int consumers = 8;
  const int per_producer = static_cast<int>(weft_sync_test::scaled(2000));
  std::vector<std::atomic<int>> seen(static_cast<std::size_t>(producers * per_producer));
  std::atomic<long> put_count{0};
  std::atomic<long> got_count{0};
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::Queue<int> q(4);
    std::vector<weft::Task<void>> puts, gets;
    for (int p = 0; p < producers; ++p) {
      puts.push_back(weft::create_task([&, p] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(p) + 1000u);
        for (int i = 0; i < per_producer; ++i) {
          dice.pause();
          q.put(p * per_producer + i);
          put_count.fetch_add(1);
        }
      }));
    }
    for (int c = 0; c < consumers; ++c) {
      gets.push_back(weft::create_task([&, c] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(c) + 2000u);
        for (;;) {
          dice.pause();
          int item = q.get();
          seen[static_cast<std::size_t>(item)].fetch_add(1);
          got_count.fetch_add(1);
          q.task_done();
        }
      }));
    }
    // Cancel producers 4-7 and consumers 2-7 at random moments; 0-3 and 0-1 keep going.
    weft_sync_test::Dice dice(31337);
    for (int k = 0; k < 10; ++k) {
      for (int i = 0; i < 50; ++i) dice.pause();
      if (dice.one_in(2)) {
        puts[4 + dice.below(4)].cancel();
      } else {
        gets[2 + dice.below(6)].cancel();
      }
    }
    for (int p = 0; p < producers; ++p) {
      std::string how = outcome(puts[static_cast<std::size_t>(p)]);
      if (p < 4 || how != "cancelled") {
        EXPECT_EQ(how, "ok") << "producer " << p;
      }
    }
    q.join();
    EXPECT_TRUE(q.empty());
    for (auto& t : gets) t.cancel();
    for (auto& t : gets) EXPECT_EQ(outcome(t), "cancelled");
  });
  EXPECT_EQ(got_count.load(), put_count.load());
  long once = 0;
  for (auto& n : seen) {
    ASSERT_LE(n.load(), 1);
    once += n.load();
  }
  EXPECT_EQ(once, put_count.load());
  EXPECT_GE(put_count.load(), 4L * per_producer);
}

TEST_P(QueueStress, ConcurrentPutsComeOutOfAPriorityQueueInOrder) {
  const int per_task = static_cast<int>(weft_sync_test::scaled(5000));
  constexpr int tasks = 8;
  std::vector<int> out;
  weft_sync_test::stress_run(GetParam(), [&] {
    weft::PriorityQueue<int> pq;
    weft::LifoQueue<int> lq;
    std::vector<weft::Task<void>> all;
    for (int t = 0; t < tasks; ++t) {
      all.push_back(weft::create_task([&, t] {
        weft_sync_test::Dice dice(static_cast<std::uint32_t>(t));
        for (int i = 0; i < per_task; ++i) {
          pq.put_nowait(static_cast<int>(dice.below(1000000)));
          lq.put_nowait(i);
          if (dice.one_in(16)) weft::sleep(0);
        }
      }));
    }
    for (auto& t : all) EXPECT_EQ(outcome(t), "ok");
    EXPECT_EQ(pq.qsize(), static_cast<std::size_t>(tasks * per_task));
    while (!pq.empty()) out.push_back(pq.get_nowait());
    EXPECT_EQ(lq.qsize(), static_cast<std::size_t>(tasks * per_task));
  });
  EXPECT_EQ(out.size(), static_cast<std::size_t>(tasks * per_task));
  EXPECT_TRUE(std::is_sorted(out.begin(), out.end()));
}

INSTANTIATE_TEST_SUITE_P(Workers, QueueStress,
                         ::testing::ValuesIn(weft_sync_test::stress_workers()));

// shutdown(immediate) racing producers and consumers, on 4 workers. Each round: 4 producers put
// numbered items into a small queue until it refuses with QueueShutDown; 4 consumers get and
// task_done() them until QueueShutDown; a fifth task shuts the queue down at a random moment,
// immediately in every other round. Every item put must be got exactly once -- or, after an
// immediate shutdown, got at most once, the rest dropped and counted done so that join()
// returns; nobody may hang, and no task_done() may be refused.
class QueueShutdownStress : public ::testing::TestWithParam<unsigned> {};

TEST_P(QueueShutdownStress, EveryItemPutIsGotOnceOrDroppedAndCounted) {
  constexpr int producers = 4;
  constexpr int consumers = 4;
  constexpr int per_producer = 64;  // most rounds shut down long before this
  const int rounds = static_cast<int>(weft_sync_test::scaled(2000));
  long total_put = 0, total_got = 0, total_dropped = 0;
  weft_sync_test::stress_run(GetParam(), [&] {
    for (int round = 0; round < rounds; ++round) {
      const bool immediate = round % 2 == 1;
      weft::Queue<int> q(1 + round % 4);
      std::vector<std::atomic<int>> put(producers * per_producer);
      std::vector<std::atomic<int>> got(producers * per_producer);
      std::vector<weft::Task<void>> tasks;
      for (int p = 0; p < producers; ++p) {
        tasks.push_back(weft::create_task([&, p] {
          weft_sync_test::Dice dice(static_cast<std::uint32_t>(round * 16 + p));
          for (int i = 0; i < per_producer; ++i) {
            int item = p * per_producer + i;
            dice.pause();
            try {
              q.put(item);
            } catch (const weft::QueueShutDown&) {
              return;
            }
            put[static_cast<std::size_t>(item)].fetch_add(1);
          }
        }));
      }
      for (int c = 0; c < consumers; ++c) {
        tasks.push_back(weft::create_task([&, c] {
          weft_sync_test::Dice dice(static_cast<std::uint32_t>(round * 16 + 8 + c));
          for (;;) {
            dice.pause();
            int item;
            try {
              item = q.get();
            } catch (const weft::QueueShutDown&) {
              return;
            }
            got[static_cast<std::size_t>(item)].fetch_add(1);
            q.task_done();
          }
        }));
      }
      weft_sync_test::Dice dice(static_cast<std::uint32_t>(round) + 99991u);
      for (unsigned i = dice.below(160); i > 0; --i) dice.pause();
      q.shutdown(immediate);
      for (auto& t : tasks) EXPECT_EQ(outcome(t), "ok") << "round " << round;
      // After the shutdown nothing more went in, and the consumers drained what was left (or
      // it was dropped): every item is done, so join() returns at once.
      EXPECT_EQ(outcome(weft::create_task([&] { q.join(); }), 10.0), "ok") << "round " << round;
      EXPECT_TRUE(q.empty());
      EXPECT_THROW(q.task_done(), weft::ValueError) << "round " << round;
      for (std::size_t i = 0; i < put.size(); ++i) {
        int n_put = put[i].load();
        int n_got = got[i].load();
        ASSERT_LE(n_got, n_put) << "item " << i << " got but never put, round " << round;
        if (immediate) {
          total_dropped += n_put - n_got;
        } else {
          ASSERT_EQ(n_got, n_put) << "item " << i << " lost in round " << round;
        }
        total_put += n_put;
        total_got += n_got;
      }
    }
  });
  EXPECT_EQ(total_put, total_got + total_dropped);
  EXPECT_GT(total_got, 0);
}

INSTANTIATE_TEST_SUITE_P(Workers, QueueShutdownStress, ::testing::Values(4u));

}  // namespace
