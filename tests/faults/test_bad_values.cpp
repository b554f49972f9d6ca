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
#include "to_thread_pool.hpp"

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
  weft::TaskRef r = weft::current_task();  // outside any task: empty
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

}  // namespace
