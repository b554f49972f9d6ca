// Fiber stacks: sized by set_default_stack_size, guarded, pooled and reused -- and cheap enough
// that a million suspended coroutines fit on a small machine.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <weft/detail/stack_pool.hpp>

#include "../core_test_support.hpp"

namespace {

using weft::detail::allocate_stack;
using weft::detail::release_stack;

// Restores the default stack size when a test changes it.
class StackSizeGuard {
 public:
  StackSizeGuard() : saved_(weft::default_stack_size()) {}
  ~StackSizeGuard() { weft::set_default_stack_size(saved_); }

 private:
  std::size_t saved_;
};

// Where the caller's stack is: the frame address, which ASan's "fake stack" never moves.
__attribute__((noinline)) std::uintptr_t address_of_a_local() {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}

bool kernel_has_madvise_guards() {
  utsname name{};
  if (uname(&name) != 0) return false;
  int major = 0;
  int minor = 0;
  if (std::sscanf(name.release, "%d.%d", &major, &minor) != 2) return false;
  return major > 6 || (major == 6 && minor >= 13);
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t total_pages = 0;
  std::size_t resident_pages = 0;
  statm >> total_pages >> resident_pages;
  return resident_pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

TEST(StackPool, TheDefaultStackIs64KiB) {
  EXPECT_EQ(weft::default_stack_size(), 64u * 1024u);
}

TEST(StackPool, AStackSmallerThanAPageIsRefused) {
  EXPECT_THROW(weft::set_default_stack_size(1024), weft::ValueError);
  EXPECT_EQ(weft::default_stack_size(), 64u * 1024u);
}

__attribute__((noinline)) int touch_big_frame() {
  volatile char big[256 * 1024];
  for (std::size_t i = 0; i < sizeof big; i += 4096) big[i] = 1;
  return big[4096];
}

TEST(StackPool, CoroutinesCreatedAfterSetDefaultStackSizeGetTheNewSize) {
  StackSizeGuard restore;
  weft::set_default_stack_size(1024 * 1024);
  EXPECT_EQ(weft::default_stack_size(), 1024u * 1024u);
  // 256 KiB of locals would run into the guard of a 64 KiB stack.
  auto c = weft::coro([] { return touch_big_frame(); });
  EXPECT_EQ(c.send().value(), 1);
}

TEST(StackPool, AllocatedStacksArePageAlignedAndSizedUp) {
  auto stack = allocate_stack(10000);
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(stack.base) % page, 0u);
  EXPECT_EQ(stack.size, (10000 + page - 1) / page * page);
  // The whole usable range is writable.
  auto* bytes = static_cast<volatile char*>(stack.base);
  bytes[0] = 1;
  bytes[stack.size - 1] = 1;
  release_stack(stack);
}

TEST(StackPool, TheGuardRegionLiesJustBelowEachStack) {
  auto stack = allocate_stack(64 * 1024);
  auto base = reinterpret_cast<std::uintptr_t>(stack.base);
  EXPECT_TRUE(weft::detail::is_stack_guard_address(base - 1));
  EXPECT_FALSE(weft::detail::is_stack_guard_address(base));
  EXPECT_FALSE(weft::detail::is_stack_guard_address(base + stack.size - 1));
  EXPECT_FALSE(weft::detail::is_stack_guard_address(reinterpret_cast<std::uintptr_t>(&base)));
  release_stack(stack);
}

TEST(StackPool, GuardsAreInstalledWithMadviseOnKernelsThatHaveIt) {
  if (!kernel_has_madvise_guards()) GTEST_SKIP() << "kernel older than 6.13: mprotect guards";
  release_stack(allocate_stack(64 * 1024));
  EXPECT_TRUE(weft::detail::guards_use_madvise());
}

TEST(StackPool, AReleasedStackIsHandedOutAgain) {
  auto first = allocate_stack(64 * 1024);
  void* base = first.base;
  release_stack(first);
  auto second = allocate_stack(64 * 1024);
  EXPECT_EQ(second.base, base);
  release_stack(second);
}

TEST(StackPool, ConsecutiveCoroutinesRunOnTheSameRecycledStack) {
  auto body = [] { return address_of_a_local(); };
  auto first = weft::coro(body);
  std::uintptr_t first_address = first.send().value();  // finished: its stack is released
  auto second = weft::coro(body);
  std::uintptr_t second_address = second.send().value();
  EXPECT_EQ(first_address, second_address);
}

TEST(StackPool, LiveCoroutinesHaveDistinctStacks) {
  std::vector<weft::Coroutine<void>> live;
  std::vector<std::uintptr_t> addresses;
  for (int i = 0; i < 100; ++i) {
    live.push_back(weft::coro([&] {
      addresses.push_back(address_of_a_local());
      weft::suspend();
    }));
    live.back().send();
  }
  std::sort(addresses.begin(), addresses.end());
  EXPECT_EQ(std::adjacent_find(addresses.begin(), addresses.end()), addresses.end());
  for (std::size_t i = 1; i < addresses.size(); ++i) {
    EXPECT_GE(addresses[i] - addresses[i - 1], 64u * 1024u);  // a whole stack apart at least
  }
}

TEST(StackPool, StacksReleasedOnOneThreadAreReusedOnAnother) {
  // Each thread keeps a cache and returns it to the shared pool when it exits.
  std::vector<void*> released;
  std::thread producer([&] {
    std::vector<weft::detail::Stack> stacks;
    for (int i = 0; i < 8; ++i) stacks.push_back(allocate_stack(128 * 1024));
    for (auto& s : stacks) {
      released.push_back(s.base);
      release_stack(s);
    }
  });
  producer.join();
  std::thread consumer([&] {
    auto s = allocate_stack(128 * 1024);
    EXPECT_NE(std::find(released.begin(), released.end(), s.base), released.end());
    release_stack(s);
  });
  consumer.join();
}

// Takes `count` stacks and writes `mark` on each one's top page (committing it).
std::vector<weft::detail::Stack> take_marked_stacks(std::size_t count, std::uintptr_t mark) {
  std::vector<weft::detail::Stack> stacks;
  for (std::size_t i = 0; i < count; ++i) {
    stacks.push_back(allocate_stack(64 * 1024));
    static_cast<volatile std::uintptr_t*>(stacks.back().top())[-1] = mark + i;
  }
  return stacks;
}

TEST(StackPool, TheWarmSurplusGoesBackToTheKernelOnceUnused) {
  // Far more than the pools keep warm for good (a thread's 64, the shared pool's 1024).
  const std::size_t count = 8192;
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  std::vector<weft::detail::Stack> stacks = take_marked_stacks(count, 1);
  // Counted page by page with mincore, not by the process's RSS: under the sanitizers their own
  // memory (TSan's shadow, ASan's quarantine) moves RSS by as much as the pages we look for.
  auto resident_tops = [&] {
    std::size_t n = 0;
    for (auto& s : stacks) {
      unsigned char in_core = 0;
      void* top_page = static_cast<char*>(s.top()) - page;
      if (mincore(top_page, page, &in_core) == 0 && (in_core & 1)) ++n;
    }
    return n;
  };
  ASSERT_EQ(resident_tops(), count);
  for (auto& s : stacks) release_stack(s);
  weft::detail::trim_stack_pools();  // what an idle worker does
  // Given back in the background once unused for a while: wait for most of it, up to 20 s. The
  // pools keep 1024 warm for good, and the thread cache 64.
  std::size_t resident = resident_tops();
  for (int i = 0; i < 200 && resident > 2048; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    resident = resident_tops();
  }
  EXPECT_LE(resident, 2048u);
  // The stacks are handed out again, zeroed now where they were given back, still whole.
  std::vector<weft::detail::Stack> again;
  std::size_t zeroed = 0;
  for (std::size_t i = 0; i < count; ++i) {
    again.push_back(allocate_stack(64 * 1024));
    zeroed += static_cast<volatile std::uintptr_t*>(again.back().top())[-1] == 0;
  }
  EXPECT_GE(zeroed, count - 2048);
  for (auto& s : again) release_stack(s);
}

TEST(StackPoolStress, AStackInUseIsNeverGivenBack) {
  // Threads take and release surplus stacks in bursts while the trimmer gives back what lies
  // unused: a stack someone holds must keep what was written on it.
  const int threads = 4;
  const int rounds = weft_test::kSanitized ? 20 : 60;
  const std::size_t per_round = 700;  // 4 x 700 held at once: far past the warm limit
  std::atomic<std::size_t> damaged{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int r = 0; r < rounds; ++r) {
        const std::uintptr_t mark =
            (static_cast<std::uintptr_t>(t) << 40) | (static_cast<std::uintptr_t>(r) << 20) | 1u;
        std::vector<weft::detail::Stack> stacks = take_marked_stacks(per_round, mark);
        // Hold them across more than one trimmer look now and then.
        std::this_thread::sleep_for(std::chrono::milliseconds(r % 10 == 0 ? 150 : 2));
        for (std::size_t i = 0; i < stacks.size(); ++i) {
          if (static_cast<volatile std::uintptr_t*>(stacks[i].top())[-1] != mark + i) ++damaged;
        }
        for (auto& s : stacks) release_stack(s);
        weft::detail::trim_stack_pools();
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(damaged.load(), 0u);
}

TEST(StackPoolStress, AMillionSuspendedCoroutinesFit) {
  // ASan's shadow memory makes each coroutine costlier; TSan registers every live fiber as a
  // thread and dies past 8128 of them ("Thread limit exceeded").
  const std::size_t count = weft_test::kTsan ? 2'000 : weft_test::kAsan ? 100'000 : 1'000'000;
  auto started = std::chrono::steady_clock::now();
  std::size_t resident_before = resident_bytes();
  std::vector<weft::Coroutine<void>> coroutines;
  coroutines.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    coroutines.push_back(weft::coro([] { weft::suspend(); }));
    ASSERT_TRUE(coroutines.back().send().suspended()) << "coroutine " << i;
  }
  std::size_t resident_after = resident_bytes();
  std::size_t suspended = 0;
  for (auto& c : coroutines) suspended += weft::getcoroutinestate(c) == weft::CORO_SUSPENDED;
  EXPECT_EQ(suspended, count);
  double per_coroutine =
      static_cast<double>(resident_after - resident_before) / static_cast<double>(count);
  RecordProperty("resident_bytes_per_suspended_coroutine", std::to_string(per_coroutine));
  // "A suspended task costs a few KiB": one or two touched stack pages plus the frame.
  if (!weft_test::kSanitized) {
    EXPECT_LT(per_coroutine, 12.0 * 1024.0);
  }
  for (auto& c : coroutines) c.close();
  std::size_t closed = 0;
  for (auto& c : coroutines) closed += weft::getcoroutinestate(c) == weft::CORO_CLOSED;
  EXPECT_EQ(closed, count);
  coroutines.clear();
  auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  RecordProperty("seconds", std::to_string(seconds));
  std::printf("%zu coroutines: %.0f resident bytes each, %.2f s\n", count, per_coroutine, seconds);
}

}  // namespace
