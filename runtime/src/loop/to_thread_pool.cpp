#include "loop/to_thread_pool.hpp"

#include <atomic>
#include <exception>
#include <string>

#include "weft/errors.hpp"

namespace weft::detail {
namespace {
// The pool this thread works for, or null.
thread_local const ToThreadPool* tls_pool = nullptr;
}  // namespace

bool ToThreadPool::on_pool_thread() const noexcept {
  return tls_pool == this;
}

namespace {
std::atomic<void (*)()> spawn_hook{nullptr};
}  // namespace

void ToThreadPool::set_spawn_hook_for_testing(void (*hook)()) noexcept {
  // Release/acquire: a submit that sees the hook sees whatever the test set up before it.
  spawn_hook.store(hook, std::memory_order_release);
}

ToThreadPool::ToThreadPool(std::size_t max_threads, std::function<void()> on_idle)
    : max_threads_(max_threads ? max_threads : 1), on_idle_(std::move(on_idle)) {}

ToThreadPool::~ToThreadPool() {
  shutdown();
}

void ToThreadPool::submit(std::function<void()> job) {
  std::unique_lock lock(mutex_);
  if (stopping_) throw RuntimeError("cannot schedule new futures after shutdown");
  jobs_.push_back(std::move(job));
  if (idle_ == 0 && threads_.size() < max_threads_) {
    try {
      if (auto hook = spawn_hook.load(std::memory_order_acquire)) hook();
      threads_.emplace_back([this] { thread_main(); });
    } catch (const std::exception& e) {
      // One outcome only. A thread already in the pool takes the job when it frees up, so the
      // caller is not told of a failure that did not stop the job. With no thread at all nobody
      // would ever run it: take it back (it is the newest, under our lock) and refuse it.
      if (!threads_.empty()) {
        lock.unlock();
        work_ready_.notify_one();
        return;
      }
      std::function<void()> refused = std::move(jobs_.back());
      jobs_.pop_back();
      lock.unlock();
      refused = nullptr;  // its captures are released outside the lock
      throw RuntimeError(std::string("can't start new thread (") + e.what() +
                         "): to_thread has no pool thread to run the job, so it was not run; "
                         "raise the limit on threads (RLIMIT_NPROC, ulimit -u) or start fewer");
    }
  }
  lock.unlock();
  work_ready_.notify_one();
}

void ToThreadPool::thread_main() {
  tls_pool = this;
  std::unique_lock lock(mutex_);
  for (;;) {
    ++idle_;
    work_ready_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
    --idle_;
    if (jobs_.empty()) return;  // stopping and drained
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    ++running_;
    lock.unlock();
    job();  // jobs catch their own exceptions: they complete a future
    lock.lock();
    --running_;
    if (running_ == 0 && jobs_.empty() && on_idle_) {
      lock.unlock();
      on_idle_();
      lock.lock();
    }
  }
}

void ToThreadPool::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  work_ready_.notify_all();
  for (std::thread& t : threads) t.join();
}

std::size_t ToThreadPool::in_flight() const {
  std::lock_guard lock(mutex_);
  return jobs_.size() + running_;
}

}  // namespace weft::detail
