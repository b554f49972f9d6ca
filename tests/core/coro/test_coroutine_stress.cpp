// The state word under fire: many threads drive the same coroutines at once. Every send either
// enters the body (exactly one thread at a time) or is refused with "coroutine already
// executing"; nothing is lost, nothing runs twice. Fibers hop between threads all the time here.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "../core_test_support.hpp"

namespace {

constexpr int kCoroutines = 16;
constexpr int kThreads = 8;

int sends_per_thread() {
  if (weft_test::kTsan) return 4'000;
  if (weft_test::kAsan) return 20'000;
  return weft_test::kOptimized ? 60'000 : 25'000;
}

// What one shared coroutine's body records. `resumptions` and `threads` are plain data written
// only inside the body: the state word alone keeps them race-free (TSan checks that).
struct Shared {
  std::atomic<int> inside{0};         // threads inside the body right now
  std::atomic<int> max_inside{0};     // the most ever seen at once
  std::atomic<long> successes{0};     // sends that entered, counted by the drivers
  long resumptions = 0;               // entries, counted by the body
  std::set<std::thread::id> threads;  // who ran the body
};

void enter(Shared& s) {
  int now = s.inside.fetch_add(1, std::memory_order_acq_rel) + 1;
  int seen = s.max_inside.load(std::memory_order_relaxed);
  while (now > seen && !s.max_inside.compare_exchange_weak(seen, now)) {
  }
}

void leave(Shared& s) {
  s.inside.fetch_sub(1, std::memory_order_acq_rel);
}

TEST(CoroutineStress, ConcurrentSendsEnterOneAtATimeAndAreCountedExactly) {
  std::array<Shared, kCoroutines> shared;
  std::vector<weft::Coroutine<void>> coroutines;
  for (int i = 0; i < kCoroutines; ++i) {
    coroutines.push_back(weft::coro([&s = shared[i]] {
      for (;;) {
        enter(s);
        ++s.resumptions;
        s.threads.insert(std::this_thread::get_id());
        // Linger now and then so that other threads find the coroutine running.
        if (s.resumptions % 8 == 0) std::this_thread::yield();
        leave(s);
        weft::suspend();
      }
    }));
  }

  std::atomic<long> refused{0};
  std::atomic<long> wrong_errors{0};
  const int sends = sends_per_thread();
  std::vector<std::thread> drivers;
  for (int t = 0; t < kThreads; ++t) {
    drivers.emplace_back([&, t] {
      std::minstd_rand random(static_cast<unsigned>(t) + 1);
      std::uniform_int_distribution<int> pick(0, kCoroutines - 1);
      for (int n = 0; n < sends; ++n) {
        int i = pick(random);
        try {
          if (coroutines[i].send().suspended()) shared[i].successes.fetch_add(1);
        } catch (const weft::ValueError& e) {
          if (std::string(e.what()) == "coroutine already executing") {
            refused.fetch_add(1);
          } else {
            wrong_errors.fetch_add(1);
          }
        }
      }
    });
  }
  for (auto& d : drivers) d.join();

  long total = 0;
  bool some_coroutine_migrated = false;
  for (int i = 0; i < kCoroutines; ++i) {
    EXPECT_EQ(shared[i].max_inside.load(), 1) << "two threads inside coroutine " << i;
    EXPECT_EQ(shared[i].resumptions, shared[i].successes.load()) << "coroutine " << i;
    EXPECT_EQ(weft::getcoroutinestate(coroutines[i]), weft::CORO_SUSPENDED);
    some_coroutine_migrated |= shared[i].threads.size() > 1;
    total += shared[i].successes.load();
  }
  EXPECT_EQ(wrong_errors.load(), 0);
  EXPECT_EQ(total + refused.load(), static_cast<long>(kThreads) * sends);
  EXPECT_GT(refused.load(), 0) << "no send ever found a coroutine running: the race was not hit";
  EXPECT_TRUE(some_coroutine_migrated);
  RecordProperty("sends", std::to_string(static_cast<long>(kThreads) * sends));
  RecordProperty("refused", std::to_string(refused.load()));

  for (auto& c : coroutines) c.close();
  for (auto& c : coroutines) EXPECT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
}

TEST(CoroutineStress, ConcurrentSendThrowAndCloseNeverEnterTwiceAndCloseEndsItOnce) {
  // Drivers send, throw in (the body catches it and suspends again) and, rarely, close. After the
  // first close wins, every call is refused as a reuse of a closed coroutine.
  const int rounds = weft_test::kTsan        ? 20
                     : weft_test::kAsan      ? 50
                     : weft_test::kOptimized ? 200
                                             : 100;
  const int calls_per_thread = weft_test::kTsan ? 200 : 1'000;
  for (int round = 0; round < rounds; ++round) {
    Shared s;
    std::atomic<int> closes_that_ended_it{0};
    std::atomic<int> unwinds{0};
    struct Unwind {
      std::atomic<int>* count;
      ~Unwind() { count->fetch_add(1); }
    };
    auto c = weft::coro([&] {
      Unwind u{&unwinds};
      for (;;) {
        enter(s);
        ++s.resumptions;
        leave(s);
        try {
          weft::suspend();
        } catch (const std::runtime_error&) {
          // thrown in by a driver: handled, keep going
        }
      }
    });
    c.send();
    s.successes.fetch_add(1);
    std::vector<std::thread> drivers;
    for (int t = 0; t < kThreads; ++t) {
      drivers.emplace_back([&, t] {
        for (int n = 0; n < calls_per_thread; ++n) {
          try {
            if (t == 0 && n == calls_per_thread / 2) {
              // close() on an already closed coroutine is silent: count the state change.
              bool was_open = weft::getcoroutinestate(c) != weft::CORO_CLOSED;
              c.close();
              if (was_open && weft::getcoroutinestate(c) == weft::CORO_CLOSED) {
                closes_that_ended_it.fetch_add(1);
              }
            } else if (n % 3 == 0) {
              if (c.throw_(std::runtime_error("poke")).suspended()) s.successes.fetch_add(1);
            } else {
              if (c.send().suspended()) s.successes.fetch_add(1);
            }
          } catch (const weft::ValueError&) {
            // already executing
          } catch (const weft::RuntimeError&) {
            // cannot reuse already awaited coroutine (closed)
          }
        }
      });
    }
    for (auto& d : drivers) d.join();
    ASSERT_EQ(s.max_inside.load(), 1);
    ASSERT_EQ(s.resumptions, s.successes.load());
    c.close();  // the drivers' close may have found it running and been refused
    ASSERT_EQ(weft::getcoroutinestate(c), weft::CORO_CLOSED);
    ASSERT_EQ(unwinds.load(), 1);
    ASSERT_LE(closes_that_ended_it.load(), 1);
  }
}

TEST(CoroutineStress, ManyThreadsEachDrivingTheirOwnCoroutinesShareTheStackPool) {
  // Creating, running and destroying coroutines on every thread at once: the stack pool and its
  // per-thread caches hand each live coroutine a stack of its own.
  const int per_thread = weft_test::kTsan ? 500 : 5'000;
  std::atomic<long> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<weft::Coroutine<std::uintptr_t>> batch;
      for (int n = 0; n < per_thread; ++n) {
        batch.push_back(weft::coro([t, n] {
          volatile int marker = t * 100'000 + n;
          weft::suspend();
          // Another coroutine sharing this stack would have overwritten the marker.
          return static_cast<std::uintptr_t>(marker == t * 100'000 + n);
        }));
        batch.back().send();
        if (batch.size() == 64) {
          for (auto& c : batch) {
            if (c.send().value() != 1) failures.fetch_add(1);
          }
          batch.clear();
        }
      }
      for (auto& c : batch) {
        if (c.send().value() != 1) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
