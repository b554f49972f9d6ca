#include "to_thread_pool.hpp"

#include "weft/errors.hpp"

namespace weft::detail {
namespace {
// The pool this thread works for, or null.
thread_local const ToThreadPool* tls_pool = nullptr;
}  // namespace

bool ToThreadPool::on_pool_thread() const noexcept {
  return tls_pool == this;
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
    threads_.emplace_back([this] { thread_main(); });
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
