#include "weft/detail/concurrent_core.hpp"

#include "weft/detail/blocking_wait.hpp"

#include <atomic>
#include <thread>
#include <utility>

#include "sched/futex.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

ConcurrentCore::~ConcurrentCore() {
  // Callbacks never run (the future died with them pending, its task never ending).
  for (CallbackNode* node = callbacks_; node;) delete std::exchange(node, node->next);
}

void ConcurrentCore::attach(FutureCore& task) {
  if (!task.add_waiter(*this)) on_future_done(task);  // already done: deliver it here
}

void ConcurrentCore::detach(FutureCore& task) noexcept {
  // Acquire: pairs with the release at the end of on_future_done; the call is over. If it is
  // not set, remove_waiter takes the task's lock, under which any call in flight runs.
  if (!delivered_.load(std::memory_order_acquire)) task.remove_waiter(*this);
}

void ConcurrentCore::on_future_done(FutureCore& task) noexcept {
  // asyncio's chain copies the outcome with source.exception(), which marks the task's exception
  // retrieved -- unless cancel() came first, when it copies nothing.
  if (complete(finished) && !task.cancelled() && task.has_exception()) (void)task.exception();
  // Release: detach() that sees it knows this call no longer touches the object. Last access.
  delivered_.store(true, std::memory_order_release);
}

bool ConcurrentCore::complete(std::uint32_t how) noexcept {
  std::uint32_t s = state_.load(std::memory_order_relaxed);
  do {
    if (s & done_mask) return false;
    // Release: a thread that acquires the done state sees the outcome -- the task's, published
    // before the task called us, or the cancellation.
  } while (
      !state_.compare_exchange_weak(s, how, std::memory_order_release, std::memory_order_relaxed));
  if (s & sleepers) futex_wake_all(state_);  // no syscall unless someone sleeps
  return true;
}

bool ConcurrentCore::mark_cancelled() noexcept {
  return complete(cancelled);
}

bool ConcurrentCore::wait(std::int64_t deadline_ns) const {
  // Acquire: done means the outcome is visible (see complete()).
  std::uint32_t s = state_.load(std::memory_order_acquire);
  if (s & done_mask) return true;
  refuse_inside_a_task();
  for (;;) {
    if (s & done_mask) return true;
    if (deadline_ns >= 0 && monotonic_now_ns() >= deadline_ns) return false;
    // Acquire on failure: the new value may be the done state (the flag itself publishes
    // nothing; complete()'s read-modify-write sees it or makes this one fail).
    if (!(s & sleepers) && !state_.compare_exchange_weak(s, s | sleepers, std::memory_order_acquire,
                                                         std::memory_order_acquire)) {
      continue;
    }
    // The kernel compares the word with what we saw, atomically with queueing us: a complete()
    // after that comparison wakes us.
    futex_wait(state_, s | sleepers, deadline_ns);
    s = state_.load(std::memory_order_acquire);
  }
}

void ConcurrentCore::lock_callbacks() noexcept {
  callbacks_lock_.lock();
}
void ConcurrentCore::unlock_callbacks() noexcept {
  callbacks_lock_.unlock();
}

bool ConcurrentCore::add_callback_if_pending(CallbackNode* node, bool& hook_task) noexcept {
  lock_callbacks();
  // Read under the lock: take_callbacks() runs only once the state is done, so a callback kept
  // here is taken by it -- or by a later call, never by none.
  if (done()) {
    unlock_callbacks();
    return false;
  }
  node->next = callbacks_;
  callbacks_ = node;
  hook_task = !task_hooked_;
  task_hooked_ = true;
  unlock_callbacks();
  return true;
}

ConcurrentCore::CallbackNode* ConcurrentCore::take_callbacks() noexcept {
  lock_callbacks();
  CallbackNode* newest_first = std::exchange(callbacks_, nullptr);
  unlock_callbacks();
  CallbackNode* in_order = nullptr;
  while (newest_first) {
    CallbackNode* next = newest_first->next;
    newest_first->next = in_order;
    in_order = newest_first;
    newest_first = next;
  }
  return in_order;
}

}  // namespace weft::detail
