// Internal: TaskCore is asyncio's Task minus its result type, built from three parts: the task
// state word and its wake-up token (task_state.hpp; the step in task_step.cpp), the bookkeeping of
// Task.cancel (cancel_requests.hpp; its rules in task_cancel.cpp), and a FutureCore that holds the
// outcome. task_core.cpp holds what is left: the name and repr of asyncio's Task.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "weft/detail/cancel_requests.hpp"
#include "weft/detail/context_data.hpp"
#include "weft/detail/frame.hpp"
#include "weft/detail/future_core.hpp"
#include "weft/detail/runnable.hpp"
#include "weft/detail/spin_lock.hpp"

namespace weft {
// One frame of a task's stack (traceback.FrameSummary): where the task waits.
struct FrameSummary {
  std::string filename;
  unsigned lineno = 0;
  std::string name;  // the function
};
}  // namespace weft

namespace weft::detail {

class Scheduler;
class TaskCore;

// What a coroutine yields to sleep: the task's worker arms a timer (asyncio's call_later).
struct SleepUntil {
  std::int64_t deadline_ns;
};

// What a task yields to wait for a wake-up it has already published itself (the sync primitives'
// waiters): the token came from arm_direct_wait(), in the task's own body, before it linked itself
// where its waker finds it. Whoever claims the token first -- the waker (wake_up) or cancel() --
// resumes the task; cancel() resumes it with CancelledError, as it does a sleep.
struct AwaitWakeUp {
  std::uint64_t token;
};

// What a coroutine yields to wait for a wake-up someone else delivers -- an fd's readiness
// (architecture.md §15). Once the fiber is off its stack, the worker arms a token, as for a
// sleep, and calls publisher->publish(*publisher, task, token), which hands it to whoever will
// call task.fire(token). cancel() races them for the token exactly as it races a sleep's timer.
// One pointer: std::any keeps a value in place only up to a pointer's size, and a bigger one
// cost a heap allocation and a free on every I/O wait.
struct IoPublisher {
  void (*publish)(IoPublisher& self, TaskCore& task, std::uint64_t token) noexcept;
};
struct AwaitIo {
  IoPublisher* publisher;
};

// The task state word (architecture.md §7).
enum class TaskState : std::uint32_t {
  idle,       // suspended, waiting for a wake-up; in no queue
  scheduled,  // in exactly one run queue
  running,    // a worker is stepping it
  notified,   // running, and a wake-up arrived: the worker re-queues it after the step
  done,
};

// The Waiter base is the task's own wake-up on the future it awaits (see after_suspension): a
// base, not a member, so it needs no pointer back to its task.
class TaskCore : public FutureCore, public Runnable, private Waiter {
 public:
  // The task runs in `context` (create_task's context=), or, if null, in a Context of its own
  // made from the bindings `inherited` (asyncio's copy_context() at creation).
  // `created_at`: where create_task was called, kept in debug mode only (source_traceback()).
  TaskCore(Scheduler& scheduler, Frame& frame, std::string name, ContextPtr inherited,
           ContextStatePtr context = nullptr, SourceLocation created_at = {});
  ~TaskCore() override;

  // ---- asyncio.Task (cancel() is FutureCore's: Task.cancel's rules are the overrides below)
  int cancelling() const;
  int uncancel();
  // The runtime's teardown (asyncio.run's _cancel_all_tasks): Task.cancel() the first time
  // only, so a later teardown round waits for the task without interrupting cleanup that awaits.
  void cancel_for_teardown();
  std::string get_name() const;
  void set_name(std::string name);
  std::string repr() const override;
  std::string coroutine_repr() const;  // the coro=<...> part of repr()
  std::string describe() const override { return repr(); }
  const char* kind_name() const noexcept override { return "Task"; }
  // asyncio's Task._source_traceback: where create_task was called, in debug mode; else empty.
  SourceLocation source_traceback() const override;
  // Task.get_stack / print_stack (see task.hpp). `caller`: where get_stack was called, the
  // running task's own place when it asks about itself.
  std::vector<FrameSummary> get_stack(std::optional<int> limit,
                                      const SourceLocation& caller = {}) const;

  // The await graph (call_graph.cpp): runs fn(context) while this task cannot resume -- it is
  // registered with the future it awaits and that future's lock is held -- and returns true;
  // false if it awaits no future now.
  bool while_suspended_on_future(void (*fn)(void*), void* context) const;

  // ---- runtime plumbing
  void run() override;  // one step (asyncio's Task.__step); only a worker calls it
  // The first step of a task no worker has seen, run inside create_task (eager_start), maybe
  // from within the creating task's own step: the creator is its current task again after.
  void run_eagerly();
  // Continuation stealing (RunOptions::continuation_stealing): whether this task, the running
  // one, may suspend inside create_task -- the innermost frame running is its own (or one it
  // awaits inline), not a generator it drives. A task running nested in another's eager step may
  // hand off too: its step then ends back in that run_eagerly, and the worker's loop takes the
  // child once the outer step is over.
  bool can_hand_off() const noexcept;
  // Suspends this task, the running one, so that its worker runs `child`'s first step next while
  // this task waits in the worker's spawn deque (for any worker to resume). Returns when resumed.
  void hand_off_to(TaskCore& child);
  // Wakes the task if it is still waiting for the wake-up identified by `token`.
  void fire(std::uint64_t token) noexcept;
  // Before a wake-up, by a waker that holds the task where it waits (the reactor, before it
  // marks its delivery): starts loading the task's stack record (Frame::prefetch_resume).
  void prefetch_resume() const noexcept { frame_.prefetch_resume(); }
  // fire(), saying whether this call woke the task (false: someone else claimed the token).
  bool wake_up(std::uint64_t token) noexcept {
    if (!claim_wake_up(token)) return false;
    schedule_claimed();
    return true;
  }
  // A wait with no future (see AwaitWakeUp), from the running task's own body: arms the token to
  // publish; a waker that claims it before the task has suspended makes the step end in a
  // re-queue (running -> notified). A body that then does not wait takes it back with disarm().
  std::uint64_t arm_direct_wait() noexcept { return arm(); }
  void disarm(std::uint64_t token) noexcept { (void)claim_wake_up(token); }
  // Whether the wake-up `token` is still awaited (false once anything woke the task).
  bool awaits_token(std::uint64_t token) const noexcept {
    // Relaxed: a hint for discarding stale timers early; fire() decides for real.
    return armed_token_.load(std::memory_order_relaxed) == token;
  }
  // Makes a fresh task runnable (its first step); called once, by whoever created it. From here
  // until its step ends done, the task holds a reference to itself (the runtime's): dropping
  // every handle does not free a task that has not finished.
  void start();
  Frame& frame() noexcept { return frame_; }
  // The scheduler the task's future is bound to (FutureCore's reference, which keeps it alive):
  // defined in sched/scheduler.hpp, where Scheduler is complete.
  inline Scheduler& scheduler() noexcept;
  // Task.get_context(): the Context the task runs in (its own, or the one it was created with).
  ContextStatePtr get_context();
  // What the task's code runs in now: a Context::run's inside it, else get_context()'s.
  ContextState& current_context() noexcept {
    if (const Extras* extras = find_extras()) {
      if (extras->entered_context) return *extras->entered_context;
      if (extras->given_context) return *extras->given_context;
    }
    return own_context_;
  }
  ContextStatePtr current_context_ptr();
  // Context::run inside the task (see ContextScope): only the task's own code calls it. Entering
  // may allocate the task's Extras; leaving never does (entering made them).
  ContextStatePtr exchange_entered_context(ContextStatePtr context);
  TaskState run_state() const noexcept { return run_state_.load(std::memory_order_acquire); }
  // The inspect server's figures (architecture.md §18): zeros for a task that has none.
  struct InspectFigures {
    std::uint32_t steps = 0;
    std::uint64_t step_ns = 0;
    std::int64_t created_ns = 0;
  };
  InspectFigures inspect_figures() const noexcept;

  // Registry links (guarded by the registry shard's lock; the shard is below, packed).
  TaskCore* registry_prev = nullptr;
  TaskCore* registry_next = nullptr;

 protected:
  void on_completed() override;
  // Task.cancel, thread-safe: counts the request, then either passes it on to the awaited future
  // or marks the task to raise CancelledError at its next step (and wakes it from a sleep).
  CancelPlan begin_cancel(const std::string& message) override;
  bool end_cancel(bool passed_on, const std::string& message) override;
  bool cancel_in_cycle(const std::string& message) override;

 private:
  enum class After { done, requeue, wait, handoff };
  After step();
  After after_suspension();
  std::uint64_t arm() noexcept;
  // fire() in two halves, for a caller that must decide under the lock whether it woke the task.
  bool claim_wake_up(std::uint64_t token) noexcept;
  void schedule_claimed() noexcept;
  void release_previous_wait();
  // Held for a few instructions, never across a call out.
  void lock() const noexcept { lock_.lock(); }
  void unlock() const noexcept { lock_.unlock(); }

  // The Waiter: the wake-up of an await, registered with the awaited future (fut_waiter_) while
  // waiter_registered_ is set.
  void on_future_done(FutureCore&) noexcept override {
    fire(waiter_token_);
    // Release: pairs with the acquire in release_previous_wait.
    waiter_delivered_.store(true, std::memory_order_release);
  }
  FutureCore* awaiting() const noexcept override { return const_cast<TaskCore*>(this); }

  // What few tasks use, apart behind one pointer (a million suspended tasks feel every 8 bytes):
  // made with the task when it has a name, a given Context, a creation site (debug mode) or
  // inspect figures, else on first need (set_name, a Context::run inside it). Never replaced or
  // freed before the task: a reader keeps the pointer it loaded.
  struct Extras {
    std::string name;                 // guarded by lock_: used when number_ is 0
    SourceLocation created_at;        // guarded by lock_: debug mode: where create_task was called
    ContextStatePtr given_context;    // create_task(context=ctx): set before the task is shared
    ContextStatePtr entered_context;  // touched by the task's own code only: see ContextScope
    // Only while RunOptions::inspect is on: the steps, counted by the stepping worker with a
    // relaxed load and store (one stepper at a time, each after the previous one's release of the
    // state word, so no update is lost), read relaxed by the inspect server (a recent count;
    // nothing is read through it); the wall time they took, the same way; and the monotonic time
    // the task was made (written before the registry publishes the task).
    std::atomic<std::uint32_t> inspect_steps{0};
    std::atomic<std::uint64_t> inspect_step_ns{0};
    std::int64_t inspect_created_ns = 0;
  };
  const Extras* find_extras() const noexcept {
    // Acquire: pairs with the install in extras(), so the record's construction is seen.
    return extras_.load(std::memory_order_acquire);
  }
  Extras& extras();  // installs them if missing

  Frame& frame_;
  // The small fields share two words (a million suspended tasks feel every 8 bytes).
  std::atomic<TaskState> run_state_{TaskState::scheduled};
  mutable SpinLock lock_;  // guards Task.cancel's state, below; held for a few instructions
  bool returned_ = false;  // guarded by lock_: the coroutine returned (finishes with a value)
  // Worker-only: the next step resumes from a hand-off (create_task never raises CancelledError:
  // a cancel() meanwhile is kept for the next suspension).
  bool resuming_from_handoff_ = false;
  bool sleeping_ = false;  // worker-only: suspended in a sleep (counted in the runtime's metrics)

 public:
  std::uint16_t registry_shard = 0;  // guarded as the registry links above

 private:
  // Set once the Waiter's wake-up call is over (still under the future's lock). A step that sees
  // it may reuse the waiter at once; one that does not takes the future's lock in remove_waiter,
  // which waits for the call to end. Either way no call is in flight when the waiter is reused.
  std::atomic<bool> waiter_delivered_{false};
  bool waiter_registered_ = false;  // worker-only: the Waiter is registered with fut_waiter_
  // The wake-up the task waits for; 0 = none. Each wake source (a future's waiter, a timer,
  // cancel) CASes it back to 0, so exactly one of them schedules the task.
  std::atomic<std::uint64_t> armed_token_{0};
  std::uint64_t last_token_ = 0;          // worker-only
  std::uint64_t waiter_token_ = 0;        // worker-only: the token the Waiter fires
  std::exception_ptr pending_exception_;  // worker-only: to throw in at the next step

  // Guarded by lock_: Task.cancel's state, shared between cancel() and the stepping worker.
  CancelRequests cancel_requests_;
  // asyncio's Task._fut_waiter, under lock_: what cancel() cancels. Only the stepping worker
  // writes it, so it reads it without the lock. It also keeps the future alive while the Waiter
  // is registered there: the next step takes the waiter back before it forgets the future.
  Ref<FutureCore> fut_waiter_;
  std::atomic<Extras*> extras_{nullptr};
  std::uint64_t number_;      // guarded by lock_: a default name's number, or 0 once named
  ContextState own_context_;  // the task's Context, unless created with one
};

// The task stepping on this thread, or null (a fiber-safe read: architecture.md §3).
TaskCore* current_task_core() noexcept;

}  // namespace weft::detail
