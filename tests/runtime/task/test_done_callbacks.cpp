// Done callbacks of tasks and runtime-bound futures: scheduled on the runtime (asyncio's
// call_soon), never run inline by the completing call; run in registration order; removable.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"

namespace {

using weft_rt_test::deterministic;
using weft_rt_test::Log;
using Entries = std::vector<std::string>;

TEST(DoneCallbacks, ATasksCallbackIsScheduledAfterItCompletes) {
  // asyncio: the callback is queued behind the tasks already ready when the task finishes.
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task([] { return 5; });
        t.add_done_callback(
            [&](weft::Task<int>& done) { log.add("cb " + std::to_string(done.result())); });
        weft::sleep(0.0);  // t runs and completes; its callback is queued behind main
        log.add("after1");
        weft::sleep(0.0);
        log.add("after2");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"after1", "cb 5", "after2"}));
}

TEST(DoneCallbacks, AFuturesCallbackDoesNotRunInsideSetResult) {
  Log log;
  weft::run(
      [&] {
        weft::Future<int> f;
        f.add_done_callback(
            [&](weft::Future<int>& done) { log.add("cb " + std::to_string(done.result())); });
        f.set_result(3);
        log.add("set");
        weft::sleep(0.0);
        log.add("main");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"set", "cb 3", "main"}));
}

TEST(DoneCallbacks, AFuturesCallbackDoesNotRunInsideCancel) {
  Log log;
  weft::run(
      [&] {
        weft::Future<int> f;
        f.add_done_callback(
            [&](weft::Future<int>& done) { log.add(done.cancelled() ? "cb cancelled" : "cb ?"); });
        EXPECT_TRUE(f.cancel());
        log.add("cancelled");
        weft::sleep(0.0);
        log.add("main");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"cancelled", "cb cancelled", "main"}));
}

TEST(DoneCallbacks, ACancelledTasksCallbackRunsAfterItsLastStep) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task([] { weft::sleep(10.0); });
        t.add_done_callback(
            [&](weft::Task<void>& done) { log.add(done.cancelled() ? "cb cancelled" : "cb ?"); });
        weft::sleep(0.0);
        EXPECT_TRUE(t.cancel());
        log.add("cancel returned");  // the task has not even stepped yet
        EXPECT_FALSE(t.done());
        weft::sleep(0.0);  // t steps and ends cancelled; its callback is queued behind main
        log.add("main");
        weft::sleep(0.0);
        log.add("main2");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"cancel returned", "main", "cb cancelled", "main2"}));
}

TEST(DoneCallbacks, ACallbackAddedToADoneTaskIsScheduledNotRunAtOnce) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task([] { return 1; });
        weft::await(t);
        t.add_done_callback([&](weft::Task<int>&) { log.add("cb"); });
        log.add("added");
        weft::sleep(0.0);
        log.add("main");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"added", "cb", "main"}));
}

TEST(DoneCallbacks, CallbacksRunInRegistrationOrder) {
  Log log;
  weft::run(
      [&] {
        weft::Future<> f;
        for (int i = 0; i < 5; ++i) {
          f.add_done_callback([&, i](weft::Future<>&) { log.add(std::to_string(i)); });
        }
        f.set_result();
        weft::sleep(0.0);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"0", "1", "2", "3", "4"}));
}

TEST(DoneCallbacks, RemoveDoneCallbackStopsItFromRunning) {
  Log log;
  weft::run(
      [&] {
        auto t = weft::create_task([] { weft::sleep(1.0); });
        auto keep = t.add_done_callback([&](weft::Task<void>&) { log.add("kept"); });
        auto drop = t.add_done_callback([&](weft::Task<void>&) { log.add("removed"); });
        EXPECT_NE(keep, drop);
        EXPECT_EQ(t.remove_done_callback(drop), 1u);
        EXPECT_EQ(t.remove_done_callback(drop), 0u);  // already gone
        weft::await(t);
        weft::sleep(0.0);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"kept"}));
}

TEST(DoneCallbacks, RemoveDoneCallbackOnAFuture) {
  Log log;
  weft::run(
      [&] {
        weft::Future<int> f;
        auto id = f.add_done_callback([&](weft::Future<int>&) { log.add("removed"); });
        EXPECT_EQ(f.remove_done_callback(id), 1u);
        f.set_result(1);
        weft::sleep(0.0);
        log.add("main");
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"main"}));
}

TEST(DoneCallbacks, RunOnTheRuntimeOutsideAnyTaskWhenCompletedFromAForeignThread) {
  // asyncio runs callbacks on the loop, not in the thread that completed the future; and
  // current_task() is None inside a callback.
  std::atomic<bool> ran{false};
  std::atomic<bool> on_runtime{false};
  std::atomic<bool> in_task{true};
  std::thread::id callback_thread;
  std::thread::id setter_thread;
  weft::run(
      [&] {
        weft::Future<int> f;
        f.add_done_callback([&](weft::Future<int>&) {
          try {
            weft::get_running_loop();
            on_runtime = true;
          } catch (const weft::RuntimeError&) {
          }
          in_task = static_cast<bool>(weft::current_task());
          callback_thread = std::this_thread::get_id();
          ran = true;
        });
        std::thread setter([&, f]() mutable {
          setter_thread = std::this_thread::get_id();
          f.set_result(1);
        });
        setter.join();
        weft::await(f);
        while (!ran.load()) weft::sleep(0.0);
      },
      weft::RunOptions{.workers = 2});
  EXPECT_NE(callback_thread, setter_thread);
  EXPECT_TRUE(on_runtime.load());
  EXPECT_FALSE(in_task.load());
}

TEST(DoneCallbacks, EachCallbackRunsExactlyOnceUnderConcurrentCompletion) {
  // Many futures, each raced by a task and a foreign thread to complete it: one wins, and its
  // callbacks run once.
  constexpr int n = 200;
  std::atomic<int> calls{0};
  weft::run(
      [&] {
        std::vector<weft::Future<int>> futures(n);
        for (auto& f : futures) f.add_done_callback([&](weft::Future<int>&) { ++calls; });
        std::thread racer([futures]() mutable {
          for (auto& f : futures) {
            try {
              f.set_result(1);
            } catch (const weft::InvalidStateError&) {
            }
          }
        });
        for (auto& f : futures) f.cancel();
        racer.join();
        while (calls.load() < n) weft::sleep(0.0);
        weft::sleep(std::chrono::milliseconds(5));
      },
      weft::RunOptions{.workers = 4});
  EXPECT_EQ(calls.load(), n);
}

// asyncio wakes an awaiting task through a done callback like any other, so callbacks and
// awaiters run in the order they were added (cpython/done_callback_scenarios.py, .out beside it).
TEST(DoneCallbacks, CallbacksAndAwaitersRunInRegistrationOrder) {
  Log log;
  weft::run(
      [&] {
        weft::Future<> fut;
        auto awaiter = [&](std::string name) {
          return weft::coro([&log, fut, name] {
            weft::await(fut);
            log.add(name + " resumed");
          });
        };
        fut.add_done_callback([&](weft::Future<>&) { log.add("callback 1"); });
        auto a = weft::create_task(awaiter("task A"));
        weft::sleep(0.0);  // A awaits now
        fut.add_done_callback([&](weft::Future<>&) { log.add("callback 2"); });
        auto b = weft::create_task(awaiter("task B"));
        weft::sleep(0.0);
        fut.add_done_callback([&](weft::Future<>&) { log.add("callback 3"); });
        fut.set_result();
        weft::gather(a, b);
      },
      deterministic());
  EXPECT_EQ(log.entries(), (Entries{"callback 1", "task A resumed", "callback 2", "task B resumed",
                                    "callback 3"}));
}

std::vector<std::string>* removal_log = nullptr;
void log_cb(weft::Future<int>&) {
  removal_log->push_back("cb");
}
void log_other(weft::Future<int>&) {
  removal_log->push_back("other");
}
struct Tagged {  // an equality-comparable functor: equal tags are the same callback
  int tag;
  void operator()(weft::Task<int>&) const { removal_log->push_back("tag " + std::to_string(tag)); }
  friend bool operator==(const Tagged&, const Tagged&) = default;
};

TEST(DoneCallbacks, RemoveDoneCallbackByCallableRemovesEveryRegistration) {
  std::vector<std::string> ran;
  removal_log = &ran;
  weft::run(
      [&] {
        weft::Future<int> fut;
        fut.add_done_callback(log_cb);
        fut.add_done_callback(log_other);
        fut.add_done_callback(log_cb);
        EXPECT_EQ(fut.remove_done_callback(log_cb), 2u);
        EXPECT_EQ(fut.remove_done_callback(log_cb), 0u);
        fut.set_result(1);
        weft::sleep(0.0);

        auto t = weft::create_task([] { return 1; });
        t.add_done_callback(Tagged{1});
        t.add_done_callback(Tagged{2});
        t.add_done_callback(Tagged{1});
        EXPECT_EQ(t.remove_done_callback(Tagged{1}), 2u);
        EXPECT_EQ(t.remove_done_callback(Tagged{3}), 0u);
        weft::await(t);
        weft::sleep(0.0);
      },
      deterministic());
  removal_log = nullptr;
  EXPECT_EQ(ran, (Entries{"other", "tag 2"}));
}

// On several workers: a callback added before a task awaits the future has always run by the
// time that task resumes (its wake-up comes after the callback), whichever worker completes the
// future.
TEST(DoneCallbacks, ACallbackAddedBeforeTheAwaitHasRunWhenTheAwaiterResumesStress) {
  std::atomic<int> early{0};
  constexpr int kRounds = weft_rt_test::kSanitized ? 300 : 3000;
  weft::run(
      [&] {
        for (int round = 0; round < kRounds; ++round) {
          weft::Future<> fut;
          auto ran = std::make_shared<std::atomic<bool>>(false);
          fut.add_done_callback([ran](weft::Future<>&) { ran->store(true); });
          auto awaiter = weft::create_task([fut, ran, &early] {
            weft::await(fut);  // suspends: fut is completed only once this task waits
            if (!ran->load()) early.fetch_add(1);
          });
          // Idle: its step has ended with its wake-up registered on fut.
          while (awaiter.core().run_state() != weft::detail::TaskState::idle) weft::sleep(0.0);
          auto completer = weft::create_task([fut]() mutable { fut.set_result(); });
          weft::await(awaiter);
          weft::await(completer);
        }
      },
      weft::RunOptions{.workers = 2});
  EXPECT_EQ(early.load(), 0);
}

}  // namespace
