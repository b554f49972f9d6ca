// The to_thread pool (asyncio's default executor): blocking work runs here, off the workers.
// Threads are created on demand up to a bound and leave after a spell of idleness.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace weft::detail {

class ToThreadPool {
 public:
  // `on_idle` runs (in a pool thread, no lock held) each time the last job in flight ends.
  explicit ToThreadPool(std::size_t max_threads, std::function<void()> on_idle = {});
  ~ToThreadPool();
  // Queues `job`; RuntimeError after shutdown(). When a new thread cannot be created the job
  // still runs once an existing thread frees up; with no thread at all it is refused (not run)
  // with a RuntimeError saying why.
  void submit(std::function<void()> job);
  // Runs the queued jobs to the end, then joins every thread. Idempotent.
  void shutdown();
  // Whether the calling thread is one of this pool's (it could not join itself).
  bool on_pool_thread() const noexcept;
  // Jobs queued or running (virtual time must not jump while blocking work is in flight).
  std::size_t in_flight() const;

  // Test seam: when set, called where a pool thread is about to be created; it may throw what
  // std::thread's constructor throws (std::system_error, EAGAIN) to simulate RLIMIT_NPROC.
  static void set_spawn_hook_for_testing(void (*hook)()) noexcept;

 private:
  void thread_main();

  const std::size_t max_threads_;
  const std::function<void()> on_idle_;
  mutable std::mutex mutex_;
  std::condition_variable work_ready_;
  std::deque<std::function<void()>> jobs_;  // guarded by mutex_
  std::vector<std::thread> threads_;        // guarded by mutex_
  std::size_t idle_ = 0;                    // guarded by mutex_
  std::size_t running_ = 0;                 // guarded by mutex_
  bool stopping_ = false;                   // guarded by mutex_
};

}  // namespace weft::detail
