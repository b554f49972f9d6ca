// Internal: the shared state of run_coroutine_threadsafe's concurrent future (ConcurrentFuture).
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>

#include "weft/detail/future_core.hpp"
#include "weft/detail/spin_lock.hpp"

namespace weft::detail {

// A ConcurrentFuture's done callback threw `error`: logged by the default exception handler
// ("exception calling callback for ..."), as concurrent.futures logs it. Never throws.
void report_concurrent_callback_exception(const FutureCore& task,
                                          std::exception_ptr error) noexcept;

// What the copies of one ConcurrentFuture share (concurrent.futures.Future's state, minus the
// value, which stays in the task): whether it is done and how, the threads blocked on it, and
// its done callbacks. It hears of the task's end as a Waiter on the task -- inline, with no
// allocation and no trip through the run queue (asyncio chains a second future through a done
// callback instead; the outcome a caller sees is the same). Kept small: one lives per
// submission, often a million at once.
class ConcurrentCore : public Waiter {
 public:
  // A done callback, kept in a list until the future is done.
  struct CallbackNode {
    virtual ~CallbackNode() = default;
    CallbackNode* next = nullptr;
  };

  ConcurrentCore() noexcept = default;
  ConcurrentCore(const ConcurrentCore&) = delete;
  ConcurrentCore& operator=(const ConcurrentCore&) = delete;
  ~ConcurrentCore();

  // Registers with `task` (done at once if the task already is). Once, right after
  // construction: the task's worker may call on_future_done from then on.
  void attach(FutureCore& task);
  // Takes the waiter back from `task` if it has not been called. The owner calls it before the
  // task can die.
  void detach(FutureCore& task) noexcept;

  bool done() const noexcept { return (state_.load(std::memory_order_acquire) & done_mask) != 0; }
  // Cancelled by cancel() (the task's own outcome may say otherwise; it is ignored).
  bool cancelled_here() const noexcept {
    return (state_.load(std::memory_order_acquire) & done_mask) == cancelled;
  }
  // Blocks until done or until the absolute CLOCK_MONOTONIC deadline (< 0: never). Returns
  // whether it is done. Refused inside a task (it would stall its worker).
  bool wait(std::int64_t deadline_ns) const;
  // concurrent.futures' cancel: if still pending, marks it cancelled and wakes the blocked
  // threads. The caller then cancels the task and runs the callbacks.
  bool mark_cancelled() noexcept;

  // Keeps `node` (taking ownership) for take_callbacks() if still pending: true. `hook_task` is
  // set for the first one: the caller then asks the task to run the callbacks when it ends.
  bool add_callback_if_pending(CallbackNode* node, bool& hook_task) noexcept;
  // The callbacks kept so far, in the order they were added; each is taken once. Call it only
  // once done.
  CallbackNode* take_callbacks() noexcept;

  void on_future_done(FutureCore& task) noexcept override;

 private:
  enum : std::uint32_t {
    pending = 0,
    finished = 1,   // the task's outcome is the future's
    cancelled = 2,  // cancel() came first
    done_mask = 3,
    sleepers = 4,  // a thread sleeps (or is about to) on the word: wake it
  };
  // pending -> finished or cancelled, once; wakes the sleepers. False if already done.
  bool complete(std::uint32_t how) noexcept;
  void lock_callbacks() noexcept;
  void unlock_callbacks() noexcept;

  mutable std::atomic<std::uint32_t> state_{pending};
  // Set at the end of the task's call to on_future_done, or when attach() found the task done:
  // from then on no call is in flight and detach() has nothing to take back.
  std::atomic<bool> delivered_{false};
  SpinLock callbacks_lock_;  // guards the two below (a rare path)
  bool task_hooked_ = false;
  CallbackNode* callbacks_ = nullptr;  // newest first
};

}  // namespace weft::detail
