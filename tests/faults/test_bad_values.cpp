// Bad values and limits a server meets: a to_thread job when no thread can be created, empty
// Task handles, infinite / huge / NaN timeouts, and ContextVar tokens used where they do not
// belong. Each must give one clear outcome: the right answer, or asyncio's error -- never a
// crash, a lost job or a job both refused and run.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <future>
#include <limits>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "faults_test_support.hpp"
#include "loop/to_thread_pool.hpp"

namespace {

using namespace std::chrono_literals;
using weft::detail::ToThreadPool;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- 2. to_thread when no thread can be created ----

// What pthread_create does under RLIMIT_NPROC (std::thread turns it into a system_error).
void fail_with_eagain() {
  throw std::system_error(EAGAIN, std::generic_category(), "pthread_create");
}

// Makes every new pool thread fail for its lifetime (root ignores RLIMIT_NPROC, so the limit
// itself cannot be relied on in CI).
struct ThreadCreationFails {
  ThreadCreationFails() { ToThreadPool::set_spawn_hook_for_testing(&fail_with_eagain); }
  ~ThreadCreationFails() { ToThreadPool::set_spawn_hook_for_testing(nullptr); }
};

TEST(ToThreadNoThread, APoolWithAThreadKeepsTheJobAndRunsItOnceWithoutAnError) {
  ToThreadPool pool(4);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> first_started{0};
  pool.submit([&] {
    first_started = 1;
    released.wait();  // the pool's only thread is busy: the next job needs a new one
  });
  ASSERT_TRUE(weft_faults_test::eventually([&] { return first_started.load() == 1; }));

  std::atomic<int> runs{0};
  {
    ThreadCreationFails fails;
    EXPECT_NO_THROW(pool.submit([&] { ++runs; }));
  }
  EXPECT_EQ(pool.in_flight(), 2u);  // the running job and the queued one
  release.set_value();
  ASSERT_TRUE(weft_faults_test::eventually([&] { return runs.load() == 1; }));
  pool.shutdown();
  EXPECT_EQ(runs.load(), 1);
}

TEST(ToThreadNoThread, AnEmptyPoolRefusesTheJobWithARuntimeErrorAndNeverRunsIt) {
  ToThreadPool pool(4);
  std::atomic<int> runs{0};
  {
    ThreadCreationFails fails;
    try {
      pool.submit([&] { ++runs; });
      ADD_FAILURE() << "submit accepted a job no thread can run";
    } catch (const weft::RuntimeError& e) {
      EXPECT_TRUE(contains(e.what(), "can't start new thread")) << e.what();
      EXPECT_TRUE(contains(e.what(), "was not run")) << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "not a RuntimeError: " << e.what();
    }
  }
  EXPECT_EQ(pool.in_flight(), 0u);   // taken back, not left queued for a later thread
  pool.submit([&] { runs += 10; });  // threads can be created again: the pool works
  pool.shutdown();
  EXPECT_EQ(runs.load(), 10);  // the refused job never ran
}

TEST(ToThreadNoThread, ToThreadRaisesInTheTaskAndTheRuntimeGoesOn) {
  std::atomic<int> runs{0};
  int after = weft::run(
      [&] {
        {
          ThreadCreationFails fails;
          EXPECT_THROW(weft::to_thread([&] { ++runs; }), weft::RuntimeError);
        }
        return weft::to_thread([] { return 7; });
      },
      weft::RunOptions{.workers = 1});
  EXPECT_EQ(after, 7);
  EXPECT_EQ(runs.load(), 0);
}

// ---- 8. Empty Task / TaskRef handles ----

// Runs `member` and checks it raised the empty handle's RuntimeError (not a crash, no UB).
template <class F>
void expect_empty_handle_error(const char* what, F member) {
  try {
    member();
    ADD_FAILURE() << what << " on an empty handle did not raise";
  } catch (const weft::RuntimeError& e) {
    EXPECT_TRUE(contains(e.what(), "handle: it refers to no task")) << what << ": " << e.what();
  }
}

TEST(EmptyTaskHandle, EveryMemberOfAnEmptyTaskRaisesARuntimeError) {
  weft::Task<int> t;
  EXPECT_FALSE(t);
  EXPECT_TRUE(t == weft::Task<int>());
  EXPECT_EQ(t.state(), nullptr);
  expect_empty_handle_error("done", [&] { (void)t.done(); });
  expect_empty_handle_error("cancelled", [&] { (void)t.cancelled(); });
  expect_empty_handle_error("result", [&] { (void)t.result(); });
  expect_empty_handle_error("exception", [&] { (void)t.exception(); });
  expect_empty_handle_error("cancel", [&] { (void)t.cancel("x"); });
  expect_empty_handle_error("cancelling", [&] { (void)t.cancelling(); });
  expect_empty_handle_error("uncancel", [&] { (void)t.uncancel(); });
  expect_empty_handle_error("add_done_callback",
                            [&] { (void)t.add_done_callback([](weft::Task<int>&) {}); });
  expect_empty_handle_error("remove_done_callback", [&] { (void)t.remove_done_callback(1); });
  expect_empty_handle_error("get_stack", [&] { (void)t.get_stack(); });
  expect_empty_handle_error("print_stack", [&] { t.print_stack(); });
  expect_empty_handle_error("get_coro", [&] { (void)t.get_coro(); });
  expect_empty_handle_error("get_name", [&] { (void)t.get_name(); });
  expect_empty_handle_error("set_name", [&] { t.set_name("n"); });
  expect_empty_handle_error("repr", [&] { (void)t.repr(); });
  expect_empty_handle_error("core", [&] { (void)t.core(); });
}

TEST(EmptyTaskHandle, AwaitingAnEmptyTaskRaisesInTheAwaitingTask) {
  weft::run(
      [] {
        weft::Task<void> t;
        expect_empty_handle_error("await", [&] { t.await(); });
        expect_empty_handle_error("weft::await", [&] { weft::await(t); });
      },
      weft::RunOptions{.workers = 1, .virtual_time = true});
}

TEST(EmptyTaskHandle, AMovedFromTaskIsEmptyToo) {
  weft::run(
      [] {
        auto t = weft::create_task([] { return 1; });
        auto moved = std::move(t);
        expect_empty_handle_error("done",
                                  [&] { (void)t.done(); });  // NOLINT(bugprone-use-after-move)
        EXPECT_EQ(weft::await(moved), 1);
      },
      weft::RunOptions{.workers = 1, .virtual_time = true});
}

TEST(EmptyTaskHandle, EveryMemberOfAnEmptyTaskRefRaisesARuntimeError) {
  weft::TaskRef r = weft::current_task_or_null();  // outside any task: empty
  EXPECT_FALSE(r);
  EXPECT_TRUE(r == weft::TaskRef());
  EXPECT_FALSE(r.is(weft::Task<int>()));
  expect_empty_handle_error("done", [&] { (void)r.done(); });
  expect_empty_handle_error("cancelled", [&] { (void)r.cancelled(); });
  expect_empty_handle_error("cancel", [&] { (void)r.cancel(); });
  expect_empty_handle_error("cancelling", [&] { (void)r.cancelling(); });
  expect_empty_handle_error("uncancel", [&] { (void)r.uncancel(); });
  expect_empty_handle_error("get_name", [&] { (void)r.get_name(); });
  expect_empty_handle_error("set_name", [&] { r.set_name("n"); });
  expect_empty_handle_error("repr", [&] { (void)r.repr(); });
  expect_empty_handle_error("get_stack", [&] { (void)r.get_stack(); });
  expect_empty_handle_error("core", [&] { (void)r.core(); });
}

// ---- 15. ContextVar tokens used where they do not belong ----

TEST(ContextVarToken, ATokenFromTaskAResetInTaskBIsAValueErrorAndBKeepsItsValue) {
  weft::ContextVar<std::string> var("x", "default");
  weft::run(
      [&] {
        std::optional<weft::ContextVar<std::string>::Token> from_a;
        auto a = weft::create_task([&] {
          var.set("a0");
          from_a = var.set("a1");
        });
        weft::await(a);
        auto b = weft::create_task([&] {
          var.set("b");
          try {
            var.reset(*from_a);
            ADD_FAILURE() << "task B reset its variable with task A's token";
          } catch (const weft::ValueError& e) {
            EXPECT_TRUE(
                contains(e.what(), "<Token var=<ContextVar name='x' default='default' at 0x"))
                << e.what();
            EXPECT_TRUE(contains(e.what(), "> was created in a different Context")) << e.what();
          }
          return var.get();
        });
        EXPECT_EQ(weft::await(b), "b");  // not "a0", what A's token would have restored
        EXPECT_EQ(var.get(), "default");
      },
      weft::RunOptions{.workers = 2});
}

TEST(ContextVarToken, ATokenFromBeforeRunIsRefusedInsideAndStillWorksOutside) {
  weft::ContextVar<int> var("x", 0);
  auto outside = var.set(1);
  weft::run(
      [&] {
        EXPECT_THROW(var.reset(outside), weft::ValueError);
        EXPECT_EQ(var.get(), 1);
      },
      weft::RunOptions{.workers = 1, .virtual_time = true});
  var.reset(outside);  // its own thread's context: accepted
  EXPECT_EQ(var.get(), 0);
}

TEST(ContextVarToken, ATokenFromAnotherThreadIsRefused) {
  weft::ContextVar<int> var("x", 0);
  std::optional<weft::ContextVar<int>::Token> token;
  std::thread([&] { token = var.set(5); }).join();
  EXPECT_THROW(var.reset(*token), weft::ValueError);
  EXPECT_EQ(var.get(), 0);
}

TEST(ContextVarToken, AUsedTokenIsARuntimeErrorBeforeAnyOtherCheck) {
  weft::ContextVar<int> x("x", 0);
  weft::ContextVar<int> y("y", 0);
  auto token = x.set(1);
  x.reset(token);
  try {
    y.reset(token);  // used, and of another variable: asyncio reports the use first
    ADD_FAILURE();
  } catch (const weft::RuntimeError& e) {
    EXPECT_TRUE(contains(e.what(), "<Token used var=<ContextVar name='x' default=0 at 0x"))
        << e.what();
    EXPECT_TRUE(contains(e.what(), "> has already been used once")) << e.what();
  }
  auto fresh = x.set(2);
  try {
    y.reset(fresh);
    ADD_FAILURE();
  } catch (const weft::ValueError& e) {
    EXPECT_TRUE(contains(e.what(), "> was created by a different ContextVar")) << e.what();
  }
  x.reset(fresh);
}

// ---- 12. Infinite, huge, negative and NaN timeouts ----

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Each means "never": beyond what int64 nanoseconds can count (1e10 s is 1e19 ns).
const std::vector<double> kNever = {kInf, 1e10, 1e300};

std::string describe(double d) {
  return std::isinf(d) ? "inf" : "1e" + std::to_string(static_cast<int>(std::log10(d)));
}

weft::RunOptions virtual_time() {
  return weft::RunOptions{.workers = 1, .virtual_time = true};
}

template <class F>
void expect_nan_error(const char* what, F call) {
  try {
    call();
    ADD_FAILURE() << what << "(NaN) was accepted";
  } catch (const weft::ValueError& e) {
    EXPECT_TRUE(contains(e.what(), "Invalid delay: NaN (not a number)"))
        << what << ": " << e.what();
  }
}

// A task doing `wait` is still pending after a (virtual) hour, is cancelled, and the clock has
// not jumped to "never" on its account.
template <class F>
void expect_pending_until_cancelled(const std::string& what, F wait) {
  const double start = weft::get_running_loop().time();
  auto t = weft::create_task(wait);
  weft::sleep(3600.0);
  EXPECT_FALSE(t.done()) << what << " finished early";
  t.cancel();
  EXPECT_THROW(weft::await(t), weft::CancelledError) << what;
  EXPECT_EQ(weft::get_running_loop().time(), start + 3600.0) << what;
}

TEST(InfiniteTimeouts, test_sleep_inf_and_huge_delays_sleep_until_cancelled) {
  weft::run(
      [] {
        for (double d : kNever) {
          expect_pending_until_cancelled("sleep(" + describe(d) + ")", [d] { weft::sleep(d); });
        }
        expect_pending_until_cancelled("sleep(hours::max())",
                                       [] { weft::sleep(std::chrono::hours::max()); });
        expect_pending_until_cancelled("sleep(duration<double>(inf))",
                                       [] { weft::sleep(std::chrono::duration<double>(kInf)); });
      },
      virtual_time());
}

TEST(InfiniteTimeouts, test_sleep_negative_returns_at_once_and_nan_is_a_value_error) {
  weft::run(
      [] {
        const double start = weft::get_running_loop().time();
        weft::sleep(-kInf);
        weft::sleep(-1e300);
        weft::sleep(std::chrono::hours::min());
        EXPECT_EQ(weft::get_running_loop().time(), start);
        expect_nan_error("sleep", [] { weft::sleep(kNaN); });
        expect_nan_error("sleep(duration)",
                         [] { weft::sleep(std::chrono::duration<double>(kNaN)); });
      },
      virtual_time());
}

TEST(InfiniteTimeouts, AnInfiniteSleepDoesNotMakeVirtualTimeJumpToNever) {
  weft::run(
      [] {
        auto forever = weft::create_task([] { weft::sleep(kInf); });
        weft::sleep(1.0);  // the clock jumps to this timer, the only one
        EXPECT_DOUBLE_EQ(weft::get_running_loop().time(), 1.0);
        EXPECT_FALSE(forever.done());
        forever.cancel();
        EXPECT_THROW(weft::await(forever), weft::CancelledError);
      },
      virtual_time());
}

TEST(InfiniteTimeouts, RealTimeInfiniteSleepIsCancelledNotFinished) {
  weft::run(
      [] {
        auto forever = weft::create_task([] { weft::sleep(kInf); });
        weft::sleep(0.05);
        EXPECT_FALSE(forever.done());
        forever.cancel();
        EXPECT_THROW(weft::await(forever), weft::CancelledError);
      },
      weft::RunOptions{.workers = 2});
}

TEST(InfiniteTimeouts, test_wait_for_with_inf_or_huge_timeout_waits_for_the_body) {
  weft::run(
      [] {
        for (double d : kNever) {
          int v = weft::wait_for(weft::coro([] { return weft::sleep(10.0, 7); }), d);
          EXPECT_EQ(v, 7) << d;
        }
        auto t = weft::create_task([] { return weft::sleep(10.0, 8); });
        EXPECT_EQ(weft::wait_for(t, std::chrono::duration<double>(kInf)), 8);
        EXPECT_THROW(weft::wait_for(weft::coro([] { weft::sleep(1.0); }), -kInf),
                     weft::TimeoutError);
        weft::Future<void> pending;
        expect_nan_error("wait_for", [&] { weft::wait_for(pending, kNaN); });
      },
      virtual_time());
}

TEST(InfiniteTimeouts, test_timeout_and_timeout_at_never_fire_when_infinite_or_huge) {
  weft::run(
      [] {
        for (double d : kNever) {
          EXPECT_EQ(weft::timeout(d, [] { return weft::sleep(10.0, 1); }), 1) << d;
          EXPECT_EQ(weft::timeout_at(d, [] { return weft::sleep(10.0, 2); }), 2) << d;
          weft::timeout(0.5, [&](weft::Timeout& scope) {
            scope.reschedule(d);  // moved to never: the body outlives the first deadline
            weft::sleep(10.0);
            EXPECT_FALSE(scope.expired());
          });
        }
        EXPECT_THROW(weft::timeout(-kInf, [] { weft::sleep(1.0); }), weft::TimeoutError);
        EXPECT_THROW(weft::timeout_at(-kInf, [] { weft::sleep(1.0); }), weft::TimeoutError);
        expect_nan_error("timeout", [] { weft::timeout(kNaN, [] {}); });
        expect_nan_error("timeout_at", [] { weft::timeout_at(kNaN, [] {}); });
        expect_nan_error("Timeout::reschedule",
                         [] { weft::timeout(1.0, [](weft::Timeout& t) { t.reschedule(kNaN); }); });
      },
      virtual_time());
}

TEST(InfiniteTimeouts, test_call_later_and_call_at_with_inf_or_huge_delays_never_fire) {
  weft::run(
      [] {
        auto& loop = weft::get_running_loop();
        std::atomic<int> fired{0};
        std::vector<weft::TimerHandle> handles;
        for (double d : kNever) {
          handles.push_back(loop.call_later(d, [&] { ++fired; }));
          handles.push_back(loop.call_at(d, [&] { ++fired; }));
        }
        EXPECT_EQ(loop.call_at(kInf, [] {}).when(), kInf);  // asyncio's TimerHandle.when()
        weft::sleep(3600.0);
        EXPECT_EQ(fired.load(), 0);
        for (auto& h : handles) EXPECT_FALSE(h.cancelled());

        loop.call_later(-kInf, [&] { fired += 10; });
        loop.call_at(-kInf, [&] { fired += 100; });
        weft::sleep(0.0);
        weft::sleep(0.0);
        EXPECT_EQ(fired.load(), 110);
        expect_nan_error("call_later", [&] { loop.call_later(kNaN, [] {}); });
        expect_nan_error("call_at", [&] { loop.call_at(kNaN, [] {}); });
      },
      virtual_time());
}

TEST(InfiniteTimeouts, test_wait_and_as_completed_with_inf_timeout_wait_for_everything) {
  weft::run(
      [] {
        std::vector<weft::Task<int>> tasks;
        tasks.push_back(weft::create_task([] { return weft::sleep(5.0, 1); }));
        tasks.push_back(weft::create_task([] { return weft::sleep(10.0, 2); }));
        for (double d : kNever) {
          auto [done, pending] = weft::wait(tasks, d);
          EXPECT_EQ(done.size(), 2u) << d;
          EXPECT_TRUE(pending.empty()) << d;
        }
        auto slow = weft::create_task([] { return weft::sleep(100.0, 3); });
        std::vector<weft::Task<int>> one{slow};
        auto [done, pending] = weft::wait(one, -kInf);
        EXPECT_TRUE(done.empty());
        EXPECT_EQ(pending.size(), 1u);
        expect_nan_error("wait", [&] { weft::wait(one, kNaN); });

        for (double d : kNever) {
          int sum = 0;
          for (auto next : weft::as_completed(one, d)) sum += weft::await(next);
          EXPECT_EQ(sum, 3) << d;
        }
        expect_nan_error("as_completed", [&] { weft::as_completed(one, kNaN); });
      },
      virtual_time());
}

TEST(InfiniteTimeouts, SyncPrimitiveWaitsUnderAnInfiniteTimeoutWaitForTheirWakeUp) {
  weft::run(
      [] {
        weft::Event event;
        weft::Queue<int> queue;
        weft::Condition condition;
        bool ready = false;
        auto waker = weft::create_task([&] {
          weft::sleep(10.0);
          event.set();
          queue.put_nowait(4);
          condition.acquire();
          ready = true;
          condition.notify_all();
          condition.release();
        });
        EXPECT_TRUE(weft::wait_for(weft::coro([&] { return event.wait(); }), kInf));
        EXPECT_EQ(weft::wait_for(weft::coro([&] { return queue.get(); }), 1e300), 4);
        weft::timeout(1e10, [&] {
          condition.acquire();
          condition.wait_for([&] { return ready; });
          condition.release();
        });
        weft::await(waker);
      },
      virtual_time());
}

TEST(InfiniteTimeouts, ConcurrentFutureResultWithAnInfiniteTimeoutWaitsForTheTask) {
  weft::Runtime rt(weft::RunOptions{.workers = 1});
  auto f = weft::run_coroutine_threadsafe(weft::coro([] { return weft::sleep(0.05, 9); }), rt);
  EXPECT_EQ(f.result(std::chrono::duration<double>(kInf)), 9);
  EXPECT_EQ(f.result(std::chrono::duration<double>(1e300)), 9);
  EXPECT_EQ(f.result(std::chrono::hours::max()), 9);
  auto slow = weft::run_coroutine_threadsafe(weft::coro([] { weft::sleep(kInf); }), rt);
  EXPECT_THROW(slow.result(std::chrono::duration<double>(-kInf)), weft::TimeoutError);
  try {
    slow.result(std::chrono::duration<double>(kNaN));
    ADD_FAILURE() << "result(NaN) was accepted";
  } catch (const weft::ValueError& e) {
    EXPECT_TRUE(contains(e.what(), "Invalid delay: NaN")) << e.what();
  }
  slow.cancel();
  rt.shutdown();
}

}  // namespace
