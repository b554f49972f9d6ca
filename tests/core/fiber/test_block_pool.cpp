// The block pool: blocks of every size class are distinct and usable; blocks made on one thread
// and freed on another (the shape of a task spawned on one worker and destroyed on another)
// circulate through the shared list without ever being handed out twice; trimming in the
// middle of it loses nothing. (Under ASan and TSan the pool steps aside for operator new, and
// these tests check that path instead.)
#include <gtest/gtest.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "weft/detail/block_pool.hpp"

namespace {

using weft::detail::allocate_block;
using weft::detail::deallocate_block;
using weft::detail::max_pooled_block;
using weft::detail::trim_block_pool;

struct Block {
  unsigned char* memory;
  std::size_t size;
  unsigned char stamp;
};

void fill(const Block& b) {
  std::memset(b.memory, b.stamp, b.size);
}

bool intact(const Block& b) {
  for (std::size_t i = 0; i < b.size; ++i) {
    if (b.memory[i] != b.stamp) return false;
  }
  return true;
}

TEST(BlockPool, LiveBlocksOfEverySizeAreDistinctAndKeepTheirContents) {
  std::vector<Block> live;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t size = 1; size <= max_pooled_block + 64; size += 7) {
      Block b{static_cast<unsigned char*>(allocate_block(size)), size,
              static_cast<unsigned char>(live.size() * 31 + 1)};
      ASSERT_NE(b.memory, nullptr);
      EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.memory) % alignof(std::max_align_t), 0u);
      fill(b);
      live.push_back(b);
    }
    // Free every other block and allocate again: reused blocks must not alias live ones.
    for (std::size_t i = 0; i < live.size(); i += 2) deallocate_block(live[i].memory, live[i].size);
    std::vector<Block> kept;
    for (std::size_t i = 1; i < live.size(); i += 2) kept.push_back(live[i]);
    live = kept;
  }
  std::set<unsigned char*> starts;
  for (const Block& b : live) {
    EXPECT_TRUE(intact(b)) << "a block of " << b.size << " bytes was overwritten";
    EXPECT_TRUE(starts.insert(b.memory).second) << "one block handed out twice";
  }
  for (const Block& b : live) deallocate_block(b.memory, b.size);
}

// Producers allocate and stamp blocks, consumers check and free them: blocks flow one way, so
// the producers' caches run dry and the consumers' overflow into the shared list in batches.
TEST(BlockPoolStress, BlocksFreedOnOtherThreadsAreReusedButNeverHandedOutTwice) {
  constexpr int kProducers = 2;
  constexpr int kConsumers = 2;
  constexpr int kPerProducer = 200'000;
  std::mutex mutex;
  std::vector<Block> in_flight;  // guarded by mutex
  std::atomic<int> producers_left{kProducers};
  std::atomic<long> corrupt{0}, freed{0};

  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) {
    threads.emplace_back([&, p] {
      for (int i = 0; i < kPerProducer; ++i) {
        std::size_t size = 16 + static_cast<std::size_t>((i * 37 + p * 11) % 600);
        Block b{static_cast<unsigned char*>(allocate_block(size)), size,
                static_cast<unsigned char>(i % 251 + 1)};
        fill(b);
        std::lock_guard lock(mutex);
        in_flight.push_back(b);
        if (i % 50'000 == 0) trim_block_pool();  // trimming mid-flight loses nothing
      }
      // Release: the consumers, seeing zero with acquire, see every push above.
      producers_left.fetch_sub(1, std::memory_order_release);
    });
  }
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&] {
      std::vector<Block> batch;
      for (;;) {
        bool last = producers_left.load(std::memory_order_acquire) == 0;
        {
          std::lock_guard lock(mutex);
          batch.swap(in_flight);
        }
        for (const Block& b : batch) {
          if (!intact(b)) corrupt.fetch_add(1, std::memory_order_relaxed);
          deallocate_block(b.memory, b.size);
        }
        freed.fetch_add(static_cast<long>(batch.size()), std::memory_order_relaxed);
        batch.clear();
        if (last) {
          std::lock_guard lock(mutex);
          if (in_flight.empty()) break;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  trim_block_pool();
  EXPECT_EQ(corrupt.load(), 0) << "a block was handed out while another thread still used it";
  EXPECT_EQ(freed.load(), long{kProducers} * kPerProducer);
}

}  // namespace
