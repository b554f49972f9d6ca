#include "weft/detail/blocking_wait.hpp"

#include <atomic>
#include <thread>
#include <utility>

#include "sched/futex.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {

struct BlockingWaiter final : Waiter {
  std::atomic<std::uint32_t> signalled{0};
  void on_future_done(FutureCore&) noexcept override {
    // Release: the sleeper, acquiring it, sees the completed future.
    signalled.store(1, std::memory_order_release);
    futex_wake_one(signalled);
  }
};

}  // namespace

void refuse_inside_a_task() {
  if (current_task_core()) {
    throw RuntimeError(
        "a blocking wait inside a task would stall its worker: use weft::await(...) instead");
  }
}

bool wait_until_done(FutureCore& future, std::int64_t deadline_ns) {
  if (future.done()) return true;
  refuse_inside_a_task();
  BlockingWaiter waiter;
  if (!future.add_waiter(waiter)) return true;
  while (waiter.signalled.load(std::memory_order_acquire) == 0) {
    if (deadline_ns >= 0 && monotonic_now_ns() >= deadline_ns) break;
    futex_wait(waiter.signalled, 0, deadline_ns);
  }
  if (waiter.signalled.load(std::memory_order_acquire) == 0 && future.remove_waiter(waiter)) {
    return false;  // timed out, and the waiter is ours again
  }
  // The future is completing: wait for its call to our waiter to end before `waiter` dies.
  while (waiter.signalled.load(std::memory_order_acquire) == 0) futex_wait(waiter.signalled, 0, -1);
  return true;
}

}  // namespace weft::detail
