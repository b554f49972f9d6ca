// The spawn deque on its own: the owner's order (newest first), the thieves' (oldest first),
// capacity, and -- with thieves on every other thread -- that every item comes out exactly once.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "sched/spawn_deque.hpp"

namespace {

using weft::detail::Runnable;
using weft::detail::SpawnDeque;

struct Item final : Runnable {
  int id = 0;
  std::atomic<int> taken{0};
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
  return r ? static_cast<Item*>(r)->id : -1;
}

TEST(SpawnDeque, OwnerPopsNewestFirstAndThievesOldestFirst) {
  SpawnDeque deque;
  auto items = make_items(4);
  for (auto& item : items) ASSERT_TRUE(deque.push(item.get()));
  EXPECT_EQ(id_of(deque.pop()), 3);
  EXPECT_EQ(id_of(deque.steal()), 0);
  EXPECT_EQ(id_of(deque.pop()), 2);
  EXPECT_EQ(id_of(deque.steal()), 1);
  EXPECT_EQ(deque.pop(), nullptr);
  EXPECT_EQ(deque.steal(), nullptr);
  EXPECT_TRUE(deque.empty());
}

TEST(SpawnDeque, RefusesPushWhenFullAndWrapsAround) {
  SpawnDeque deque;
  auto items = make_items(SpawnDeque::capacity + 1);
  for (std::int64_t i = 0; i < SpawnDeque::capacity; ++i) ASSERT_TRUE(deque.push(items[i].get()));
  EXPECT_FALSE(deque.push(items.back().get()));
  EXPECT_EQ(id_of(deque.steal()), 0);  // room for one more, in the slot just freed
  EXPECT_TRUE(deque.push(items.back().get()));
  EXPECT_EQ(id_of(deque.pop()), SpawnDeque::capacity);
  for (std::int64_t i = SpawnDeque::capacity - 1; i >= 1; --i) EXPECT_EQ(id_of(deque.pop()), i);
  EXPECT_EQ(deque.pop(), nullptr);
}

// The owner pushes bursts and pops some back while three thieves steal: each item is taken by
// exactly one of them. The single-item race (owner's pop against a steal) happens constantly
// because the owner drains the deque to empty between bursts.
TEST(SpawnDequeStress, EveryItemIsTakenExactlyOnce) {
  constexpr int kItems = 200'000;
  constexpr int kThieves = 3;
  auto items = make_items(kItems);
  SpawnDeque deque;
  std::atomic<bool> done{false};
  std::atomic<int> taken_total{0};

  auto take = [&](Runnable* r) {
    auto* item = static_cast<Item*>(r);
    // Relaxed: counted and checked after the threads are joined.
    item->taken.fetch_add(1, std::memory_order_relaxed);
    taken_total.fetch_add(1, std::memory_order_relaxed);
  };

  std::vector<std::thread> thieves;
  for (int t = 0; t < kThieves; ++t) {
    thieves.emplace_back([&] {
      // Acquire: pairs with the owner's release once everything was pushed and popped.
      while (!done.load(std::memory_order_acquire)) {
        if (Runnable* r = deque.steal()) take(r);
      }
      while (Runnable* r = deque.steal()) take(r);
    });
  }

  int next = 0;
  unsigned rng = 12345;
  while (next < kItems) {
    rng = rng * 1103515245u + 12345u;
    int burst = 1 + static_cast<int>((rng >> 16) % 8);
    for (int i = 0; i < burst && next < kItems; ++i) {
      while (!deque.push(items[next].get())) {
        if (Runnable* r = deque.pop()) take(r);
      }
      ++next;
    }
    int pops = static_cast<int>((rng >> 8) % 10);
    for (int i = 0; i < pops; ++i) {
      if (Runnable* r = deque.pop()) take(r);
    }
  }
  while (Runnable* r = deque.pop()) take(r);
  done.store(true, std::memory_order_release);
  for (auto& thief : thieves) thief.join();

  EXPECT_EQ(taken_total.load(), kItems);
  int wrong = 0;
  for (auto& item : items) wrong += item->taken.load() != 1;
  EXPECT_EQ(wrong, 0) << "items taken zero times or more than once";
}

}  // namespace
