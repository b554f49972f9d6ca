// Stress: the task state word under fire (wake-ups from tasks and foreign threads racing with
// random cancels), spawn/steal of many tiny tasks, cross-worker ping-pong through futures,
// many foreign threads submitting at once, and concurrent futures cancelled while their tasks
// end. Sizes shrink in Debug and under sanitizers; a hang
// (a lost wake-up) is caught by the watchdog below or by ctest's TIMEOUT.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::scaled;

// Aborts the process with a message if the test is still running after `limit`: a lost
// wake-up shows as a hang, and a hang must fail, not stall CI.
class Watchdog {
 public:
  Watchdog(const char* what, std::chrono::seconds limit)
      : thread_([this, what, limit] {
          std::unique_lock lock(mutex_);
          if (!done_cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "watchdog: %s did not finish in %lld s (lost wake-up?)\n", what,
                         static_cast<long long>(limit.count()));
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

// ---- (1) the task state word

// One task's mailbox: the future it will await next, for a completer to take.
struct Slot {
  std::mutex mutex;
  std::optional<weft::Future<int>> future;  // guarded by mutex
};

// Takes and completes the future waiting in `slot`, if any. It may have been cancelled by a
// Task.cancel meanwhile: then set_result finds it done, which is fine.
bool complete(Slot& slot, int value) {
  std::optional<weft::Future<int>> f;
  {
    std::lock_guard lock(slot.mutex);
    f.swap(slot.future);
  }
  if (!f) return false;
  try {
    f->set_result(value);
  } catch (const weft::InvalidStateError&) {
  }
  return true;
}

struct PerTask {
  Slot slot;
  std::atomic<int> inside{0};        // >1 would mean two workers in the body at once
  std::atomic<int> starts{0};        // how often the body began
  std::atomic<int> done_calls{0};    // done callbacks run
  std::atomic<long> resumptions{0};  // awaits that returned or threw
};

TEST(TaskStateStress, EveryTaskEndsExactlyOnceUnderRacingWakeUpsAndCancels) {
  const int tasks_n = static_cast<int>(weft_rt_test::kSanitized ? 200 : 2000);
  const int awaits = static_cast<int>(scaled(400));
  const int rounds = weft_rt_test::kOptimized && !weft_rt_test::kSanitized ? 4 : 1;
  Watchdog watchdog("TaskStateStress", std::chrono::seconds(500));

  long total_resumptions = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<PerTask> per(tasks_n);
    std::atomic<int> finished{0};
    std::atomic<int> violations{0};
    std::atomic<int> pending_after_cancel{0};
    std::atomic<long> suppressed{0};
    weft::Runtime rt({.workers = 6});

    // The tasks: each awaits `awaits` futures that it publishes in its slot, one at a time.
    auto spawn = weft::run_coroutine_threadsafe(
        [&] {
          std::vector<weft::Task<int>> tasks;
          tasks.reserve(tasks_n);
          for (int i = 0; i < tasks_n; ++i) {
            auto t = weft::create_task([&, i] {
              PerTask& me = per[i];
              me.starts.fetch_add(1);
              int got = 0;
              for (int k = 0; k < awaits; ++k) {
                if (me.inside.fetch_add(1) != 0) ++violations;
                weft::Future<int> f;
                {
                  std::lock_guard lock(me.slot.mutex);
                  me.slot.future = f;
                }
                me.inside.fetch_sub(1);
                try {
                  got += weft::await(f) >= 0 ? 1 : 0;
                } catch (const weft::CancelledError&) {
                  // asyncio: a Task.cancel() that interrupts `await f` cancels f (or finds it
                  // already done); f is never left pending behind the CancelledError.
                  if (!f.done()) ++pending_after_cancel;
                  me.resumptions.fetch_add(1);
                  if ((i * 31 + k) % 8 == 0) throw;  // now and then, end cancelled
                  weft::current_task().uncancel();
                  suppressed.fetch_add(1);
                  continue;
                }
                me.resumptions.fetch_add(1);
              }
              return got;
            });
            t.add_done_callback([&, i](weft::Task<int>&) {
              per[i].done_calls.fetch_add(1);
              finished.fetch_add(1);
            });
            tasks.push_back(std::move(t));
            if (i % 64 == 0) weft::sleep(0.0);  // let them start while more are created
          }
          return tasks;
        },
        rt);
    std::vector<weft::Task<int>> tasks = spawn.result();

    // Completers inside the runtime (tasks) and outside it (foreign threads), sweeping the
    // slots from different ends so they race with each other and with the awaiting tasks.
    auto all_finished = [&] { return finished.load() == tasks_n; };
    // The completers hold back until some cancels went out, so cancels land on waiting tasks
    // however small (sanitizer builds) and quick the run is.
    std::atomic<long> cancels_sent{0};
    const long warmup = tasks_n / 4;
    auto warmed_up = [&] { return cancels_sent.load() >= warmup || all_finished(); };
    std::vector<weft::ConcurrentFuture<void>> inner_completers;
    for (int c = 0; c < 3; ++c) {
      inner_completers.push_back(weft::run_coroutine_threadsafe(
          [&, c] {
            while (!warmed_up()) weft::sleep(0.0);
            while (!all_finished()) {
              for (int i = c; i < tasks_n; i += 3) complete(per[i].slot, i);
              weft::sleep(0.0);
            }
          },
          rt));
    }
    std::vector<std::thread> threads;
    for (int c = 0; c < 2; ++c) {
      threads.emplace_back([&, c] {
        while (!warmed_up()) std::this_thread::yield();
        while (!all_finished()) {
          for (int n = 0; n < tasks_n; ++n) {
            int i = c == 0 ? n : tasks_n - 1 - n;
            complete(per[i].slot, i);
          }
          std::this_thread::yield();
        }
      });
    }
    // Cancellers: a foreign thread and a task, hitting random tasks.
    threads.emplace_back([&] {
      std::mt19937 rng(1234 + round);
      while (!all_finished()) {
        tasks[rng() % tasks_n].cancel("thread");
        cancels_sent.fetch_add(1);
        if (rng() % 8 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
    });
    auto inner_canceller = weft::run_coroutine_threadsafe(
        [&] {
          std::mt19937 rng(99 + round);
          while (!all_finished()) {
            for (int n = 0; n < 32; ++n) tasks[rng() % tasks_n].cancel("task");
            cancels_sent.fetch_add(32);
            weft::sleep(0.0);
          }
        },
        rt);

    for (auto& t : threads) t.join();
    for (auto& c : inner_completers) c.result();
    inner_canceller.result();
    rt.shutdown();

    EXPECT_EQ(violations.load(), 0) << "two workers ran one task body at once";
    EXPECT_EQ(pending_after_cancel.load(), 0) << "CancelledError left the awaited future pending";
    int cancelled = 0;
    for (int i = 0; i < tasks_n; ++i) {
      PerTask& p = per[i];
      ASSERT_EQ(p.done_calls.load(), 1)
          << "task " << i << " ended " << p.done_calls.load() << " times";
      ASSERT_LE(p.starts.load(), 1) << "task " << i;
      ASSERT_TRUE(tasks[i].done()) << "task " << i;
      if (tasks[i].cancelled()) {
        ++cancelled;
      } else {
        EXPECT_EQ(p.starts.load(), 1);
        EXPECT_LE(tasks[i].result(), awaits);
      }
      total_resumptions += p.resumptions.load();
    }
    EXPECT_GT(suppressed.load() + cancelled, 0) << "no cancel ever landed: the test is too weak";
  }
  std::printf("TaskStateStress: %ld resumptions over %d rounds\n", total_resumptions, rounds);
}

// ---- (2) spawn / steal

TEST(SpawnStealStress, ManyTinyTasksSpawnedFromSeveralTasksAllRun) {
  const long total = scaled(100000);
  constexpr int spawners = 8;
  Watchdog watchdog("SpawnStealStress", std::chrono::seconds(500));
  std::atomic<long> ran{0};
  long sum = weft::run(
      [&] {
        std::vector<weft::Task<long>> parents;
        for (int s = 0; s < spawners; ++s) {
          parents.push_back(weft::create_task([&, s] {
            std::vector<weft::Task<long>> children;
            const long per = total / spawners;
            children.reserve(per);
            for (long i = 0; i < per; ++i) {
              long value = s * per + i;
              children.push_back(weft::create_task([&ran, value] {
                ran.fetch_add(1, std::memory_order_relaxed);
                return value;
              }));
            }
            long part = 0;
            for (auto& c : children) part += weft::await(c);
            return part;
          }));
        }
        long all = 0;
        for (auto& p : parents) all += weft::await(p);
        return all;
      },
      weft::RunOptions{.workers = 4});
  const long n = (total / spawners) * spawners;
  EXPECT_EQ(ran.load(), n);
  EXPECT_EQ(sum, n * (n - 1) / 2);
}

// ---- (3) cross-worker ping-pong

struct Box;
using Channel = weft::Future<Box>;
struct Box {
  long value;
  std::shared_ptr<Channel> reply;  // where the other side answers
};

TEST(PingPongStress, RoundTripsThroughFuturesAcrossWorkers) {
  const long trips_per_pair = scaled(25000);
  constexpr int pairs = 4;
  Watchdog watchdog("PingPongStress", std::chrono::seconds(500));
  long checked = weft::run(
      [&] {
        std::vector<weft::Task<long>> players;
        for (int p = 0; p < pairs; ++p) {
          auto first = std::make_shared<Channel>();
          // Each side moves its start out of its capture: a channel holds the next one, so a
          // reference kept to the first would keep the whole chain alive (and its recursive
          // destruction would overflow a stack).
          players.push_back(
              weft::create_task([first, trips_per_pair = trips_per_pair]() mutable {  // ping
                std::shared_ptr<Channel> out = std::move(first);
                long ok = 0;
                for (long i = 0; i < trips_per_pair; ++i) {
                  auto reply = std::make_shared<Channel>();
                  out->set_result(Box{i, reply});
                  Box answer = weft::await(*reply);
                  if (answer.value == i + 1) ++ok;
                  out = answer.reply;
                }
                return ok;
              }));
          players.push_back(weft::create_task(
              [first = std::move(first), trips_per_pair = trips_per_pair]() mutable {  // pong
                std::shared_ptr<Channel> in = std::move(first);
                for (long i = 0; i < trips_per_pair; ++i) {
                  Box ball = weft::await(*in);
                  auto next = std::make_shared<Channel>();
                  ball.reply->set_result(Box{ball.value + 1, next});
                  in = next;
                }
                return 0L;
              }));
        }
        long ok = 0;
        for (auto& t : players) ok += weft::await(t);
        return ok;
      },
      weft::RunOptions{.workers = 4});
  EXPECT_EQ(checked, pairs * trips_per_pair);
}

// ---- (4) many foreign threads submitting

TEST(ForeignSubmitStress, ManyThreadsSubmitAtOnceAndEveryResultComesBack) {
  constexpr int threads_n = 16;
  const int per_thread = static_cast<int>(scaled(5000));
  Watchdog watchdog("ForeignSubmitStress", std::chrono::seconds(500));
  weft::Runtime rt({.workers = 4});
  std::atomic<long> sum{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      std::vector<weft::ConcurrentFuture<long>> futures;
      futures.reserve(per_thread);
      for (int i = 0; i < per_thread; ++i) {
        long value = static_cast<long>(t) * per_thread + i;
        futures.push_back(weft::run_coroutine_threadsafe(
            [value] {
              if (value % 7 == 0) {
                // Some hop through a child task and a yield, so submissions interleave with
                // internal work.
                auto child = weft::create_task([value] { return value; });
                weft::sleep(0.0);
                return weft::await(child);
              }
              return value;
            },
            rt));
        // Now and then wait for an early one, so waiting overlaps with submitting.
        if (i % 512 == 511) sum += futures[i - 511].result();
      }
      for (int i = 0; i < per_thread; ++i) {
        if (i % 512 == 0 && i + 511 < per_thread) continue;  // taken above
        sum += futures[i].result();
      }
    });
  }
  go.store(true);
  for (auto& th : threads) th.join();
  const long n = static_cast<long>(threads_n) * per_thread;
  EXPECT_EQ(sum.load(), n * (n - 1) / 2);
}

TEST(ForeignSubmitStress, BurstsWithGapsSoWorkersKeepGoingIdleAndWaking) {
  // Each burst finds the workers searching, parked, or between the two: a submission left to a
  // searcher that then stops, or to none, would hang here (the watchdog aborts).
  const int bursts = static_cast<int>(scaled(400));
  Watchdog watchdog("ForeignSubmitStress bursts", std::chrono::seconds(500));
  for (unsigned workers : {1u, 2u, 3u}) {
    weft::Runtime rt({.workers = workers});
    std::vector<std::thread> threads;
    std::atomic<long> sum{0};
    std::atomic<long> submitted{0};
    for (int t = 0; t < 3; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 rng(31 * t + workers);
        for (int b = 0; b < bursts; ++b) {
          std::vector<weft::ConcurrentFuture<long>> futures;
          const int n = 1 + static_cast<int>(rng() % 8);
          submitted += n;
          for (int i = 0; i < n; ++i) {
            futures.push_back(weft::run_coroutine_threadsafe([] { return 1L; }, rt));
          }
          for (auto& f : futures) sum += f.result();
          // Gaps around the search budget (~10 us) and well beyond it.
          std::this_thread::sleep_for(std::chrono::microseconds(rng() % 40));
        }
      });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(sum.load(), submitted.load());
  }
}

// ---- (5) concurrent futures: cancel() racing the task's end, handles dropped early

TEST(ConcurrentFutureStress, CancelRacingCompletionDecidesOnceAndCallbacksRunOnce) {
  constexpr int threads_n = 4;
  const int per_thread = static_cast<int>(scaled(20000));
  Watchdog watchdog("ConcurrentFutureStress", std::chrono::seconds(500));
  weft::Runtime rt({.workers = 2});
  struct Entry {
    std::optional<weft::ConcurrentFuture<long>> future;
    std::atomic<int> callbacks{0};
    std::atomic<int> cancel_won{0};
  };
  std::vector<std::vector<Entry>> entries(threads_n);
  for (auto& e : entries) e = std::vector<Entry>(per_thread);
  std::atomic<long> dropped_ran{0};
  long dropped = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    if (t % 2 == 0) dropped += per_thread / 4;
    threads.emplace_back([&, t] {
      std::mt19937 rng(7 + t);
      for (int i = 0; i < per_thread; ++i) {
        long value = static_cast<long>(t) * per_thread + i;
        auto future = weft::run_coroutine_threadsafe(
            [value, &dropped_ran, drop = t % 2 == 0 && i % 4 == 0] {
              if (value % 3 == 0) weft::sleep(0.0);
              if (drop) dropped_ran.fetch_add(1);
              return value;
            },
            rt);
        if (t % 2 == 0 && i % 4 == 0) continue;  // dropped at once: the task still runs
        Entry& e = entries[t][i];
        future.add_done_callback([&e](weft::ConcurrentFuture<long>&) { e.callbacks.fetch_add(1); });
        // Even threads cancel right away (racing the first step), odd ones after a random spin
        // (racing the task's end); from this thread and, for some, from two threads at once.
        if (t % 2 == 1) {
          for (int spin = static_cast<int>(rng() % 2000); spin > 0; --spin) {
            std::atomic_signal_fence(std::memory_order_seq_cst);
          }
        }
        if (rng() % 2 == 0) {
          weft::ConcurrentFuture<long> other = future;
          std::thread racer([&e, other]() mutable { e.cancel_won.fetch_add(other.cancel()); });
          e.cancel_won.fetch_add(future.cancel());
          racer.join();
        }
        e.future.emplace(std::move(future));
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < threads_n; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      Entry& e = entries[t][i];
      if (!e.future) continue;
      weft::ConcurrentFuture<long>& f = *e.future;
      ASSERT_LE(e.cancel_won.load(), 1) << "two cancels both won";
      if (e.cancel_won.load() == 1) {
        EXPECT_TRUE(f.cancelled());
        EXPECT_THROW(f.result(), weft::concurrent::CancelledError);
      } else {
        EXPECT_EQ(f.result(), static_cast<long>(t) * per_thread + i);
        EXPECT_FALSE(f.cancelled());
      }
      ASSERT_TRUE(weft_rt_test::eventually([&] { return f.task().done(); }));
    }
  }
  // Callbacks run on the runtime after a task's end may still be on their way.
  for (int t = 0; t < threads_n; ++t) {
    for (int i = 0; i < per_thread; ++i) {
      Entry& e = entries[t][i];
      if (!e.future) continue;
      ASSERT_TRUE(weft_rt_test::eventually([&] { return e.callbacks.load() >= 1; }));
    }
  }
  ASSERT_TRUE(weft_rt_test::eventually([&] { return dropped_ran.load() == dropped; }));
  rt.shutdown();
  for (auto& per : entries) {
    for (auto& e : per) {
      if (e.future) {
        ASSERT_EQ(e.callbacks.load(), 1);
      }
    }
  }
}

}  // namespace
