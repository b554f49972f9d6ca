// The run queues (run_queue.hpp, spawn_deque.hpp, injection_queue.hpp), explored over every
// interleaving of an owner and thieves, or producers and a consumer, within the bounds: every
// item is taken exactly once, none lost. Small capacities put the full ring and wrap-around
// within reach. Each queue also runs over broken atomics (a read-modify-write split into a load
// and a store; orders weakened) and the explorer must find what that breaks.
#include <gtest/gtest.h>

#include <array>

#include "model.hpp"
#include "sched/injection_queue.hpp"
#include "sched/run_queue.hpp"
#include "sched/spawn_deque.hpp"

namespace {

namespace model = weft::model;

struct Item {
  model::Atomic<Item*> next_in_queue{nullptr};
  int id = 0;
  virtual void run() {}
  virtual ~Item() = default;
};

// Broken: every read-modify-write is a load and a separate store (another thread may act in
// between), as a pop that skips its CAS.
template <class T>
struct SplitRmw : model::Atomic<T> {
  using Base = model::Atomic<T>;
  using Base::Base;
  static std::memory_order load_order(std::memory_order order) {
    return model::acquires(order) ? std::memory_order_acquire : std::memory_order_relaxed;
  }
  static std::memory_order store_order(std::memory_order order) {
    return model::releases(order) ? std::memory_order_release : std::memory_order_relaxed;
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
    T seen = Base::load(load_order(failure));
    if (seen != expected) {
      expected = seen;
      return false;
    }
    Base::store(desired, store_order(success));
    return true;
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure) noexcept {
    return compare_exchange_strong(expected, desired, success, failure);
  }
  T exchange(T value, std::memory_order order) noexcept {
    T old = Base::load(load_order(order));
    Base::store(value, store_order(order));
    return old;
  }
};

// Broken: every order replaced by what Map makes of it.
template <class T, class Map>
struct Remapped : model::Atomic<T> {
  using Base = model::Atomic<T>;
  using Base::Base;
  T load(std::memory_order order) const noexcept { return Base::load(Map::load(order)); }
  void store(T value, std::memory_order order) noexcept { Base::store(value, Map::store(order)); }
  T exchange(T value, std::memory_order order) noexcept {
    return Base::exchange(value, Map::rmw(order));
  }
  T fetch_add(T delta, std::memory_order order) noexcept {
    return Base::fetch_add(delta, Map::rmw(order));
  }
  T fetch_sub(T delta, std::memory_order order) noexcept {
    return Base::fetch_sub(delta, Map::rmw(order));
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
    return Base::compare_exchange_strong(expected, desired, Map::rmw(success), Map::load(failure));
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure) noexcept {
    return compare_exchange_strong(expected, desired, success, failure);
  }
};

struct AllRelaxed {
  static std::memory_order load(std::memory_order) { return std::memory_order_relaxed; }
  static std::memory_order store(std::memory_order) { return std::memory_order_relaxed; }
  static std::memory_order rmw(std::memory_order) { return std::memory_order_relaxed; }
};
struct NoSeqCst {  // seq_cst becomes acquire / release / acq_rel: the store-load pair is gone
  static std::memory_order load(std::memory_order o) {
    return o == std::memory_order_seq_cst ? std::memory_order_acquire : o;
  }
  static std::memory_order store(std::memory_order o) {
    return o == std::memory_order_seq_cst ? std::memory_order_release : o;
  }
  static std::memory_order rmw(std::memory_order o) {
    return o == std::memory_order_seq_cst ? std::memory_order_acq_rel : o;
  }
};
template <class T>
using Relaxed = Remapped<T, AllRelaxed>;
template <class T>
using WithoutSeqCst = Remapped<T, NoSeqCst>;

// Items 1..N and how often each was taken (plain memory: the explorer runs one thread at once).
template <int N>
struct Ledger {
  model::Execution& ex;
  std::array<Item, N + 1> items;
  std::array<int, N + 1> taken{};

  explicit Ledger(model::Execution& execution) : ex(execution) {
    for (int i = 0; i <= N; ++i) items[static_cast<std::size_t>(i)].id = i;
  }
  Item* item(int id) { return &items[static_cast<std::size_t>(id)]; }
  // Records an item a queue handed out (null: nothing).
  bool take(Item* item) {
    if (!item) return false;
    bool ours = item >= &items[1] && item <= &items[N];
    ex.check(ours, "a queue returned something it was never given");
    if (ours) ++taken[static_cast<std::size_t>(item->id)];
    return ours;
  }
  void check_each_once() {
    for (int i = 1; i <= N; ++i) {
      int n = taken[static_cast<std::size_t>(i)];
      ex.check(n <= 1, "an item was taken twice");
      ex.check(n >= 1, "an item was lost");
    }
  }
};

void report(const model::Stats& stats) {
  testing::Test::RecordProperty("schedules", std::to_string(stats.schedules));
}

model::Options bounds(int preemptions, int stale_reads) {
  model::Options options;
  options.preemptions = preemptions;
  options.stale_reads = stale_reads;
  return options;
}

// ---- the worker's ring: owner push/pop against thieves' steal_half

template <template <class> class A>
using Ring = weft::detail::BasicRunQueue<Item, A, 4>;

// Two items queued; the owner pushes a third and pops twice while two thieves each steal half
// into their own ring and pop what they got.
template <template <class> class A>
model::Stats ring_owner_vs_thieves(const char* name, model::Options options) {
  return model::explore(name, options, [](model::Execution& ex) {
    Ledger<3> ledger(ex);
    Ring<A> owner;
    std::array<Ring<A>, 2> thieves;
    owner.push(ledger.item(1));
    owner.push(ledger.item(2));
    ex.thread([&] {
      if (!owner.push(ledger.item(3))) ex.check(false, "a ring with room refused a push");
      ledger.take(owner.pop());
      ledger.take(owner.pop());
    });
    for (std::size_t t = 0; t < thieves.size(); ++t) {
      ex.thread([&, t] {
        ledger.take(owner.steal_half_into(thieves[t]));
        while (ledger.take(thieves[t].pop())) {
        }
      });
    }
    ex.run();
    while (ledger.take(owner.pop())) {
    }
    for (auto& thief : thieves) {
      while (ledger.take(thief.pop())) {
      }
    }
    ledger.check_each_once();
  });
}

// A full ring: the owner's push fails and it spills half plus the new item (as a linked batch)
// while a thief steals half.
template <template <class> class A>
model::Stats ring_spill_vs_thief(const char* name, model::Options options) {
  return model::explore(name, options, [](model::Execution& ex) {
    Ledger<5> ledger(ex);
    Ring<A> owner;
    Ring<A> thief;
    for (int i = 1; i <= 4; ++i) owner.push(ledger.item(i));
    ex.thread([&] {
      Item* extra = ledger.item(5);
      while (!owner.push(extra)) {
        Item* first = nullptr;
        Item* last = nullptr;
        if (std::uint32_t n = owner.take_half_for_spill(extra, first, last)) {
          Item* at = first;
          for (std::uint32_t i = 0; i < n && at; ++i) {
            ledger.take(at);
            at = at->next_in_queue.load(std::memory_order_relaxed);
          }
          break;
        }
      }
    });
    ex.thread([&] { ledger.take(owner.steal_half_into(thief)); });
    ex.run();
    while (ledger.take(owner.pop())) {
    }
    while (ledger.take(thief.pop())) {
    }
    ledger.check_each_once();
  });
}

TEST(RunQueue, OwnerAndTwoThievesTakeEachItemOnce) {
  auto stats = ring_owner_vs_thieves<model::Atomic>("RunQueue.owner_vs_thieves", bounds(2, 1));
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(RunQueue, ASpillRacingAThiefLosesNothing) {
  auto stats = ring_spill_vs_thief<model::Atomic>("RunQueue.spill_vs_thief", bounds(3, 1));
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(RunQueueChecker, FindsADoubleTakeWhenTheCasIsSplit) {
  auto stats = ring_owner_vs_thieves<SplitRmw>("RunQueueChecker.split_cas", bounds(2, 1));
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

TEST(RunQueueChecker, FindsAnUnpublishedSlotWhenOrdersAreRelaxed) {
  auto stats = ring_owner_vs_thieves<Relaxed>("RunQueueChecker.relaxed", bounds(2, 1));
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

// ---- the spawn deque (Chase-Lev): owner push/pop at the bottom against thieves at the top

template <template <class> class A>
using Deque = weft::detail::BasicSpawnDeque<Item, A, 4>;

// Two items; the owner pushes a third and pops until empty while two thieves steal twice each.
template <template <class> class A>
model::Stats deque_owner_vs_thieves(const char* name, model::Options options) {
  return model::explore(name, options, [](model::Execution& ex) {
    Ledger<3> ledger(ex);
    Deque<A> deque;
    deque.push(ledger.item(1));
    deque.push(ledger.item(2));
    ex.thread([&] {
      if (!deque.push(ledger.item(3))) ex.check(false, "a deque with room refused a push");
      while (ledger.take(deque.pop())) {
      }
    });
    for (int t = 0; t < 2; ++t) {
      ex.thread([&] {
        ledger.take(deque.steal());
        ledger.take(deque.steal());
      });
    }
    ex.run();
    while (ledger.take(deque.pop())) {
    }
    ledger.check_each_once();
  });
}

// The race for the last item: one item, the owner pops it while a thief steals.
template <template <class> class A>
model::Stats deque_last_item(const char* name, model::Options options) {
  return model::explore(name, options, [](model::Execution& ex) {
    Ledger<2> ledger(ex);
    Deque<A> deque;
    deque.push(ledger.item(1));
    deque.push(ledger.item(2));
    ex.thread([&] {
      ledger.take(deque.pop());
      ledger.take(deque.pop());
    });
    ex.thread([&] {
      ledger.take(deque.steal());
      ledger.take(deque.steal());
    });
    ex.run();
    while (ledger.take(deque.pop())) {
    }
    ledger.check_each_once();
  });
}

TEST(SpawnDeque, OwnerAndTwoThievesTakeEachItemOnce) {
  auto stats = deque_owner_vs_thieves<model::Atomic>("SpawnDeque.owner_vs_thieves", bounds(2, 1));
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(SpawnDeque, TheLastItemGoesToOneSide) {
  auto stats = deque_last_item<model::Atomic>("SpawnDeque.last_item", bounds(3, 2));
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(SpawnDequeChecker, FindsADoubleTakeWhenTheCasIsSplit) {
  auto stats = deque_last_item<SplitRmw>("SpawnDequeChecker.split_cas", bounds(3, 1));
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

TEST(SpawnDequeChecker, FindsADoubleTakeWithoutTheSeqCstPair) {
  auto stats = deque_last_item<WithoutSeqCst>("SpawnDequeChecker.no_seq_cst", bounds(3, 2));
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

// ---- the injection queue (intrusive MPSC, try-locked consumers)

template <template <class> class A>
using Injection = weft::detail::BasicInjectionQueue<Item, A>;

// Two producers (one item, and a batch of two) and a consumer that keeps popping until it has
// all three: it must get each once, including when it looks while a producer is between its
// exchange and its link (it then waits; if the item were lost it would wait forever, which the
// explorer reports).
template <template <class> class A>
model::Stats injection_two_producers(const char* name, model::Options options) {
  return model::explore(name, options, [](model::Execution& ex) {
    Ledger<3> ledger(ex);
    Injection<A> queue;
    ledger.item(2)->next_in_queue.store(ledger.item(3), std::memory_order_relaxed);
    ex.thread([&] { queue.push(ledger.item(1)); });
    ex.thread([&] { queue.push_batch(ledger.item(2), ledger.item(3), 2); });
    ex.thread([&] {
      for (int got = 0; got < 3;) {
        if (ledger.take(queue.try_pop())) {
          ++got;
        } else {
          ex.spin();
        }
      }
    });
    ex.run();
    ex.check(queue.try_pop() == nullptr, "the queue holds more than was pushed");
    ledger.check_each_once();
  });
}

// One producer and two consumers taking turns through the try-lock.
template <template <class> class A>
model::Stats injection_two_consumers(const char* name, model::Options options) {
  return model::explore(name, options, [](model::Execution& ex) {
    Ledger<2> ledger(ex);
    Injection<A> queue;
    int got = 0;
    ex.thread([&] {
      queue.push(ledger.item(1));
      queue.push(ledger.item(2));
    });
    for (int c = 0; c < 2; ++c) {
      ex.thread([&] {
        while (got < 2) {
          if (ledger.take(queue.try_pop())) {
            ++got;
          } else if (got < 2) {
            ex.spin();
          }
        }
      });
    }
    ex.run();
    ledger.check_each_once();
  });
}

// Two consumers that find a producer mid-push take turns at the try-lock, waking each other each
// time: a schedule's length grows with how long they keep at it, so fewer blocked spins and one
// preemption here (the try-lock's race needs one).
model::Options consumer_bounds() {
  model::Options options = bounds(1, 1);
  options.max_spins = 3;
  return options;
}

TEST(InjectionQueue, TwoProducersAndAConsumerLoseNothing) {
  auto stats = injection_two_producers<model::Atomic>("InjectionQueue.two_producers", bounds(2, 1));
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(InjectionQueue, TwoConsumersTakeEachItemOnce) {
  auto stats =
      injection_two_consumers<model::Atomic>("InjectionQueue.two_consumers", consumer_bounds());
  report(stats);
  EXPECT_FALSE(stats.failed) << stats.failure;
}

TEST(InjectionQueueChecker, FindsALostItemWhenTheExchangeIsSplit) {
  auto stats =
      injection_two_producers<SplitRmw>("InjectionQueueChecker.split_exchange", bounds(2, 1));
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

TEST(InjectionQueueChecker, FindsADoubleTakeWhenTheTryLockIsSplit) {
  auto stats =
      injection_two_consumers<SplitRmw>("InjectionQueueChecker.split_try_lock", bounds(2, 1));
  report(stats);
  ASSERT_TRUE(stats.failed);
  std::printf("  found: %s\n", stats.failure.c_str());
}

}  // namespace
