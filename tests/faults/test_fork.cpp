// fork() while a runtime is busy, then a runtime of its own in the child: the prefork server's
// pattern (set up, fork the workers, each runs its own loop). The child has only the thread that
// forked; every lock another thread held at that instant stays held there forever unless weft
// takes its process-wide locks around fork() (the block pool's shared lists, the stack pools,
// the warning sink). Before that, about one child in a few hundred hung in weft::run.
#include <gtest/gtest.h>

#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <thread>
#include <vector>

#include "faults_test_support.hpp"

namespace {

using weft_faults_test::kAsan;
using weft_faults_test::kTsan;
using weft_faults_test::scaled;

// What the child runs: tasks that make tasks, so it takes blocks and stacks from the pools the
// parent's workers were using when it forked.
int child_main() {
  int total = weft::run(
      [] {
        std::vector<weft::Task<int>> tasks;
        for (int i = 0; i < 20; ++i) {
          tasks.push_back(weft::create_task([i] {
            auto inner = weft::create_task([i] { return i; });
            weft::sleep(0.0);
            return weft::await(inner);
          }));
        }
        int sum = 0;
        for (auto& t : tasks) sum += weft::await(t);
        return sum;
      },
      {.workers = 2});
  return total == 190 ? 0 : 3;
}

// The parent's load: every worker creating, running and freeing tasks (block pool, stack pool)
// and scheduling done callbacks, without pause, until told to stop.
void busy_load(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {  // relaxed: a stop flag, nothing hangs off it
    std::vector<weft::Task<int>> wave;
    for (int i = 0; i < 64; ++i) {
      wave.push_back(weft::create_task([i] {
        auto child = weft::create_task([i] { return i; });
        child.add_done_callback([](weft::Task<int>&) {});
        weft::sleep(0.0);
        return weft::await(child);
      }));
    }
    for (auto& t : wave) weft::await(t);
  }
}

enum class Outcome { ok, bad_exit, hung };

// Waits up to `limit` for `pid`; a child still running then is killed and counted as hung.
Outcome reap(pid_t pid, std::chrono::milliseconds limit, int& status) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    pid_t got = waitpid(pid, &status, WNOHANG);
    if (got == pid) {
      return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? Outcome::ok : Outcome::bad_exit;
    }
    if (got < 0 && errno != EINTR) return Outcome::bad_exit;
    if (std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return Outcome::hung;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

// The sanitizers' own runtimes are not fork-safe with threads: TSan does not support fork() in a
// multithreaded process, and GCC 12's ASan allocator keeps its region locks across fork() (a
// child hangs in ASan's malloc, taken by a parent thread; seen with gdb). Under ASan weft's
// pools step aside anyway, so there is nothing of ours left to test there.
const char* sanitizer_cannot_fork() {
  if (kTsan) return "ThreadSanitizer does not support fork() in a multithreaded process";
  if (kAsan) return "ASan's allocator is not fork-safe with threads (its locks survive fork)";
  return nullptr;
}

void fork_while_busy(unsigned workers, long rounds) {
  weft::Runtime rt({.workers = workers});
  std::atomic<bool> stop{false};
  auto load = weft::run_coroutine_threadsafe(weft::coro([&stop] { busy_load(stop); }), rt);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // let the load get going

  long hung = 0;
  long bad = 0;
  int last_bad_status = 0;
  for (long round = 0; round < rounds && hung < 3; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0) << "fork failed";
    if (pid == 0) _exit(child_main());
    int status = 0;
    switch (reap(pid, std::chrono::seconds(10), status)) {
      case Outcome::ok:
        break;
      case Outcome::bad_exit:
        ++bad;
        last_bad_status = status;
        break;
      case Outcome::hung:
        ++hung;
        break;
    }
  }
  stop.store(true, std::memory_order_relaxed);
  load.result();
  EXPECT_EQ(hung, 0) << "children that hung in weft::run (killed after 10 s), of " << rounds;
  EXPECT_EQ(bad, 0) << "children that failed; last wait status " << last_bad_status;
}

TEST(ForkStress, ChildrenOfABusyRuntimeOnTwoWorkersRunTheirOwn) {
  if (const char* why = sanitizer_cannot_fork()) GTEST_SKIP() << why;
  fork_while_busy(2, scaled(400));
}

TEST(ForkStress, ChildrenOfABusyRuntimeOnFourWorkersRunTheirOwn) {
  if (const char* why = sanitizer_cannot_fork()) GTEST_SKIP() << why;
  fork_while_busy(4, scaled(400));
}

}  // namespace
