// Ref<T>, the counted reference to a future or a task (ref.hpp): an object dies exactly once,
// at its last release, after every holder's writes; a reference taken from a plain pointer
// (try_ref) is refused once the count has reached zero. Many threads, so that TSan checks the
// release / acquire pairs on plain fields below.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

#include "../core_test_support.hpp"
#include "weft/detail/future_core.hpp"
#include "weft/detail/ref.hpp"

namespace {

using weft::detail::FutureCore;
using weft::detail::make_ref;
using weft::detail::Ref;
using weft::detail::static_ref_cast;
using weft::detail::try_ref;
using weft_test_support::kSanitized;

// A future that counts its destructions and, while dying, asks for a reference to itself (what
// a reader holding a plain pointer to it would get at that moment).
struct Probe : FutureCore {
  explicit Probe(std::atomic<int>& destroyed_) : destroyed(destroyed_) {}
  ~Probe() override {
    // The count is zero now: a reader with a plain pointer must be refused (asked directly, not
    // through a Ref, whose release would free us twice if the answer were wrong).
    refused_while_dying = !try_add_ref();
    last_seen = refused_while_dying;
    destroyed.fetch_add(1, std::memory_order_relaxed);
  }
  std::atomic<int>& destroyed;
  bool refused_while_dying = false;
  static inline bool last_seen = false;
  long writes[16] = {};  // plain: each thread writes its own slot before it lets go
};

TEST(Ref, AnObjectIsBornWithOneReferenceAndDiesAtTheLastRelease) {
  std::atomic<int> destroyed{0};
  Ref<Probe> first = make_ref<Probe>(destroyed);
  Ref<Probe> second = first;
  Ref<FutureCore> as_base = second;  // a conversion is a new reference
  first.reset();
  second.reset();
  EXPECT_EQ(destroyed.load(), 0);
  EXPECT_TRUE(as_base);
  as_base.reset();
  EXPECT_EQ(destroyed.load(), 1);
}

TEST(Ref, AMoveAndACastCarryTheReferenceWithoutCountingOne) {
  std::atomic<int> destroyed{0};
  Ref<Probe> made = make_ref<Probe>(destroyed);
  Probe* raw = made.get();
  Ref<FutureCore> moved = std::move(made);
  EXPECT_FALSE(made);  // NOLINT(bugprone-use-after-move): a moved-from Ref is empty
  Ref<Probe> back = static_ref_cast<Probe>(std::move(moved));
  EXPECT_EQ(back.get(), raw);
  EXPECT_FALSE(moved);  // NOLINT(bugprone-use-after-move)
  // One reference left: leaking it and adopting it back is still one.
  Ref<Probe> adopted = Ref<Probe>::adopt(back.leak());
  EXPECT_EQ(destroyed.load(), 0);
  adopted.reset();
  EXPECT_EQ(destroyed.load(), 1);
}

TEST(Ref, TryRefTakesALiveObjectAndRefusesADyingOne) {
  std::atomic<int> destroyed{0};
  Ref<Probe> held = make_ref<Probe>(destroyed);
  Ref<Probe> taken = try_ref(held.get());
  EXPECT_EQ(taken.get(), held.get());
  EXPECT_FALSE(try_ref<Probe>(nullptr));
  held.reset();
  EXPECT_EQ(destroyed.load(), 0);  // `taken` still holds it
  Probe::last_seen = false;
  taken.reset();
  EXPECT_EQ(destroyed.load(), 1);
  EXPECT_TRUE(Probe::last_seen) << "try_ref gave a reference to an object at a count of zero";
}

TEST(Ref, ComparesAndOrdersByAddress) {
  std::atomic<int> destroyed{0};
  Ref<Probe> a = make_ref<Probe>(destroyed);
  Ref<Probe> b = make_ref<Probe>(destroyed);
  Ref<FutureCore> a_base = a;
  EXPECT_TRUE(a == a_base);
  EXPECT_FALSE(a == b);
  EXPECT_NE(a < b, b < a);
  EXPECT_TRUE(Ref<Probe>() == nullptr);
}

// Many threads copy and drop references to one object, each writing its own plain slot before
// its last drop; the object dies once, and its destructor sees every write (the acq_rel of the
// release: TSan reports a race on the slots if it were weaker).
TEST(RefStress, ManyThreadsCopyAndDropAndTheObjectDiesOnceAfterEveryWrite) {
  const int threads = 8;
  const int rounds = kSanitized ? 2'000 : 20'000;
  const int objects = kSanitized ? 50 : 200;
  for (int o = 0; o < objects; ++o) {
    std::atomic<int> destroyed{0};
    std::atomic<long> sum_seen{-1};
    struct Summing : Probe {
      Summing(std::atomic<int>& d, std::atomic<long>& s) : Probe(d), sum(s) {}
      ~Summing() override {
        long total = 0;
        for (long w : writes) total += w;
        sum.store(total, std::memory_order_relaxed);
      }
      std::atomic<long>& sum;
    };
    Ref<Summing> shared = make_ref<Summing>(destroyed, sum_seen);
    std::vector<std::thread> pool;
    std::atomic<int> ready{0};
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t, mine = shared] {
        ready.fetch_add(1);
        while (ready.load() < threads) std::this_thread::yield();
        for (int i = 0; i < rounds; ++i) {
          Ref<Summing> copy = mine;
          Ref<FutureCore> base = copy;
          copy.reset();
        }
        mine->writes[t] = t + 1;  // then `mine` goes with the lambda
      });
    }
    shared.reset();  // the threads hold the rest
    for (auto& thread : pool) thread.join();
    ASSERT_EQ(destroyed.load(), 1);
    ASSERT_EQ(sum_seen.load(), threads * (threads + 1) / 2);
  }
}

// try_ref racing with the last release, as the await graph reads a record whose awaiter may be
// dying: the readers find the object through a plain pointer under a mutex, which the dying
// object's destructor takes to clear the pointer. A reader either gets a live object (and its
// copy keeps it alive) or an empty Ref; the object dies once.
TEST(RefStress, TryRefRacingWithTheLastReleaseNeverRevivesTheObject) {
  const int readers = 4;
  const int objects = kSanitized ? 100 : 500;
  struct Registered : Probe {
    Registered(std::atomic<int>& d, std::mutex& m, Registered*& slot_)
        : Probe(d), mutex(m), slot(slot_) {}
    ~Registered() override {
      std::lock_guard hold(mutex);
      slot = nullptr;
      alive.store(false, std::memory_order_relaxed);
    }
    std::mutex& mutex;
    Registered*& slot;
    std::atomic<bool> alive{true};
  };
  for (int o = 0; o < objects; ++o) {
    std::atomic<int> destroyed{0};
    std::mutex mutex;
    Registered* slot = nullptr;
    Ref<Registered> owner = make_ref<Registered>(destroyed, mutex, slot);
    {
      std::lock_guard hold(mutex);
      slot = owner.get();
    }
    std::atomic<bool> dead_seen{false};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int r = 0; r < readers; ++r) {
      pool.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        for (;;) {
          Ref<Registered> got;
          {
            std::lock_guard hold(mutex);
            if (!slot) return;
            got = try_ref(slot);
          }
          if (got && !got->alive.load(std::memory_order_relaxed)) dead_seen = true;
          // `got` may be the last reference now: dropped outside the mutex, which its
          // destructor takes.
        }
      });
    }
    go = true;
    owner.reset();
    for (auto& thread : pool) thread.join();
    ASSERT_EQ(destroyed.load(), 1);
    ASSERT_FALSE(dead_seen.load());
  }
}

}  // namespace
