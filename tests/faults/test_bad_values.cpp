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

}  // namespace
