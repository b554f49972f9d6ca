// asyncio's Task on the multithreaded runtime.
//
// The task state word (architecture.md §7). Transitions, and who makes them:
//   scheduled -> running            the worker that popped it (exactly one: it was in one queue)
//   running   -> idle | scheduled   that worker, after the step, once the fiber is off its stack
//   running   -> notified           a wake-up that arrives during the step
//   idle      -> scheduled          the wake-up that wins the CAS; it alone enqueues the task
//   running   -> done               the worker, when the coroutine ended
// A wake-up is delivered only through fire(token): each suspension arms one token, and the
// wake sources (the awaited future's waiter, a timer, cancel) race to CAS it back to zero, so
// a stale wake-up can never resume the task at a later, unrelated suspension point. Each
// transition is a function of task_state.hpp, which tests/model/ explores over all interleavings.
#include <cassert>
#include <utility>

#include "sched/scheduler.hpp"
#include "task/task_state.hpp"
#include "weft/detail/fiber_thread_local.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {

thread_local TaskCore* tls_current_task = nullptr;

WEFT_FIBER_SAFE_TLS_STORE(store_current_task, TaskCore*, tls_current_task)

bool is_cancelled_error(const std::exception_ptr& error) {
  if (!error) return false;
  try {
    std::rethrow_exception(error);
  } catch (const CancelledError&) {
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

WEFT_FIBER_SAFE_TLS_LOAD(current_task_core, TaskCore*, tls_current_task)

TaskCore::TaskCore(Scheduler& scheduler, Frame& frame, std::string name, ContextPtr context)
    : FutureCore(scheduler.shared_from_this()),
      scheduler_(scheduler),
      frame_(frame),
      name_(std::move(name)),
      // Numbered now (creation order, as asyncio's counter), formatted only when asked for.
      number_(name_.empty() ? next_task_number() : 0),
      context_(std::move(context)) {
  wakeup_waiter_.task = this;
}

// "Task exception was never retrieved" is reported by ~TypedTask, while repr() still works.
TaskCore::~TaskCore() = default;

// Held for a few instructions, never across a call out.
void TaskCore::lock() const noexcept {
  lock_.lock();
}
void TaskCore::unlock() const noexcept {
  lock_.unlock();
}

std::string TaskCore::get_name() const {
  lock();
  std::string name = name_;
  std::uint64_t number = number_;
  unlock();
  if (number != 0) return "Task-" + std::to_string(number);
  return name;
}

void TaskCore::set_name(std::string name) {
  lock();
  name_.swap(name);
  number_ = 0;  // named now, even if the new name is empty
  unlock();
}

std::string TaskCore::repr() const {
  std::string state;
  switch (this->state()) {
    case FutureState::PENDING:
      state = "pending";
      break;
    case FutureState::CANCELLED:
      state = "cancelled";
      break;
    case FutureState::FINISHED:
      state = "finished";
      break;
  }
  std::string text = "<Task " + state + " name='" + get_name() + "' coro=<" + frame_.name() + ">";
  if (this->state() == FutureState::FINISHED) {
    std::string base = FutureCore::repr();  // "<Task finished exception=...>" or "<Task finished>"
    auto at = base.find(" exception=");
    if (at != std::string::npos) text += base.substr(at, base.size() - at - 1);
  }
  return text + ">";
}

void TaskCore::start() {
  self_ = std::static_pointer_cast<TaskCore>(shared_from_this());
}

std::uint64_t TaskCore::arm() noexcept {
  std::uint64_t token = ++last_token_;
  task_state::arm_token(armed_token_, token);  // release: see there
  return token;
}

void TaskCore::fire(std::uint64_t token) noexcept {
  // acq_rel claim, then the word's CAS (see task_state.hpp): one enqueue per wake-up.
  if (task_state::claim_token(armed_token_, token) && task_state::notify(run_state_)) {
    scheduler_.wake_task(this);
  }
}

void TaskCore::run() {
  // The invariant the whole design protects: a task enters RUNNING only from SCHEDULED.
  assert(run_state_.load(std::memory_order_relaxed) == TaskState::scheduled &&
         "a task entered RUNNING twice");
  // A release store, no CAS: nobody else writes a scheduled word (see task_state.hpp).
  task_state::begin_step(run_state_);

  store_current_task(this);
  After after = step();
  store_current_task(nullptr);

  switch (after) {
    case After::done: {
      task_state::end_step_done(run_state_);  // release: a reader of done sees the result
      std::shared_ptr<TaskCore> last = std::move(self_);  // may delete `this` at scope end
      return;
    }
    case After::requeue:
      task_state::end_step_yield(run_state_);  // release: the next popper sees the step
      scheduler_.requeue_yielded(this);
      return;
    case After::wait:
      // acq_rel CAS running -> idle; if a wake-up arrived during the step (notified), we
      // enqueue on its behalf.
      if (task_state::end_step_wait(run_state_)) scheduler_.wake_task(this);
      return;
  }
}

void TaskCore::release_previous_wait() {
  if (!waiter_registered_with_) return;
  // If the wake-up came from somewhere else (cancel, say), our waiter may still be registered
  // with the future; take it back before it is reused.
  if (!wakeup_waiter_.delivered.load(std::memory_order_acquire))
    waiter_registered_with_->remove_waiter(wakeup_waiter_);
  // asyncio's __wakeup takes the awaited future's result before the step, so its exception
  // counts as retrieved even when a pending cancel() throws CancelledError in instead.
  if (waiter_registered_with_->has_exception()) waiter_registered_with_->exception();
  waiter_registered_with_.reset();
}

TaskCore::After TaskCore::step() {
  release_previous_wait();
  std::exception_ptr error = std::exchange(pending_exception_, nullptr);
  // The future the last suspension awaited (if any) is done now: forget it under the lock, so
  // cancel() stops passing cancellations to it, and drop our reference after unlocking (it may
  // be the last, and a task's frame may hold a handle on this task: keeping it would be a cycle).
  // A step after a sleep or a yield has none to forget, and takes the lock only if a cancel is
  // pending. Reading fut_waiter_ here without the lock is safe: only this step writes it.
  // Acquire: a cancel() that happened before this step (it scheduled us, or the wake-up it
  // raced with did) set the flag before its release.
  std::shared_ptr<FutureCore> forgotten;
  if (fut_waiter_ || cancel_pending_.load(std::memory_order_acquire)) {
    lock();
    forgotten = std::move(fut_waiter_);
    if (must_cancel_) {
      if (!is_cancelled_error(error)) {
        error = std::make_exception_ptr(CancelledError(task_cancel_message_));
      }
      set_must_cancel(false);
    }
    unlock();
  }
  forgotten.reset();

  bool suspended;
  try {
    suspended = error ? frame_.throw_in(error) : frame_.send(nullptr);
  } catch (const CancelledError& cancelled) {
    cancel_future(cancelled.message());
    return After::done;
  } catch (...) {
    set_exception(std::current_exception());
    return After::done;
  }
  if (!suspended) {
    lock();
    bool cancel_now = must_cancel_;
    set_must_cancel(false);
    // Decided under the lock: a cancel() from another worker either comes before (and is
    // honoured just below) or sees returned_ and reports the task as done, never lost between.
    returned_ = !cancel_now;
    std::string message = task_cancel_message_;
    unlock();
    if (cancel_now) {
      cancel_future(std::move(message));  // cancelled right before the coroutine returned
    } else {
      finish([this] { store_result(); }, "set_result");
    }
    return After::done;
  }
  return after_suspension();
}

TaskCore::After TaskCore::after_suspension() {
  auto* yielded = static_cast<std::any*>(frame_.yielded());
  if (!yielded || !yielded->has_value()) return After::requeue;  // bare yield: sleep(0)

  if (auto* await = std::any_cast<AwaitFuture>(yielded)) {
    FutureCore* future = await->future;
    if (future == this) {
      pending_exception_ =
          std::make_exception_ptr(RuntimeError("Task cannot await on itself: " + repr()));
      return After::requeue;
    }
    std::shared_ptr<FutureCore> held = future->shared_from_this();
    // Publish the future before arming the wake-up: from this lock on, cancel() cancels the
    // future rather than firing our token; a cancel() that came before left must_cancel_, and
    // no token to fire (none is armed during a step), so it cannot wake us early either -- an
    // early wake-up would resume the await before the future is done.
    lock();
    fut_waiter_ = held;
    bool cancel_now = must_cancel_;
    std::string message = task_cancel_message_;
    unlock();
    // Task.cancel() arrived during the step: pass it on to what we now wait for.
    if (cancel_now && held->cancel(std::move(message))) {
      lock();
      set_must_cancel(false);
      unlock();
    }
    wakeup_waiter_.token = arm();
    wakeup_waiter_.delivered.store(false, std::memory_order_relaxed);  // no call can be in flight
    if (!future->add_waiter(wakeup_waiter_)) {
      armed_token_.store(0, std::memory_order_relaxed);  // already done: no wake-up needed
      // The __wakeup asyncio would schedule at once takes its exception (see
      // release_previous_wait): a pending cancel() may throw CancelledError in instead.
      if (held->has_exception()) held->exception();
      return After::requeue;
    }
    waiter_registered_with_ = held;
    return After::wait;
  }

  if (auto* sleep = std::any_cast<SleepUntil>(yielded)) {
    // Arm first, then look for a pending cancel: a cancel() that lands after the check fires
    // this token, so it cannot slip between the two and leave the task asleep for the whole
    // delay. One that landed before is delivered the same way, by us.
    std::uint64_t token = arm();
    lock();
    bool cancel_now = must_cancel_;
    unlock();
    if (cancel_now) {
      fire(token);  // running -> notified: re-queued after this step; it raises CancelledError
      return After::wait;
    }
    // The timer holds a reference (see TimerQueue::add): a copy of self_, set for as long as the
    // task is not done, costs one increment, where shared_from_this() took a CAS and a copy.
    assert(self_ && "a task holds itself from start() until done");
    scheduler_.add_timer(sleep->deadline_ns, self_, token);
    return After::wait;
  }

  pending_exception_ = std::make_exception_ptr(RuntimeError(
      std::string("Task got bad yield: a value of type ") + yielded->type().name() +
      " (only the runtime's awaitables may suspend a task; drive custom awaitables by hand)"));
  return After::requeue;
}

FutureCore::CancelPlan TaskCore::begin_cancel(const std::string& message) {
  lock();
  if (done() || returned_) {  // returned_: done, bar publishing the result
    unlock();
    return CancelPlan::answer(false);
  }
  ++cancels_requested_;
  std::shared_ptr<FutureCore> waiting = fut_waiter_;
  if (!waiting) {
    // Decided under the lock the stepping worker takes to publish the future it now awaits:
    // either it sees must_cancel_ and passes the cancellation on to that future, or we saw the
    // future here. Checking and setting under two separate holds let a worker register its
    // future in between, and the task then left its await without cancelling what it awaited.
    set_must_cancel(true);
    task_cancel_message_ = message;
    // The token armed when we looked (read under the lock: one a future wait arms after
    // publishing its future, below it, must not be fired -- that wait takes must_cancel_ itself).
    std::uint64_t token = armed_token_.load(std::memory_order_acquire);
    unlock();
    // Waiting on something that cannot be cancelled through a future (a timer): wake it now.
    fire(token);
    return CancelPlan::answer(true);
  }
  ++cancels_in_flight_;  // counted, not yet decided: see end_cancel's refusal
  unlock();
  return CancelPlan::pass_on(std::move(waiting));
}

bool TaskCore::end_cancel(bool passed_on, const std::string& message) {
  if (passed_on) {
    // The awaited future's cancellation wakes the task; CancelledError comes out of its await.
    lock();
    settle_in_flight_cancel();
    unlock();
    return true;
  }
  lock();
  const bool observed = settle_in_flight_cancel();
  if (returned_ && !observed) {
    // The coroutine returned, on another worker, since we looked, and nothing saw our count in
    // between: the cancel comes after the return; take it back, as for a done task. Had
    // cancelling() or uncancel() read the count meanwhile (a timeout scope deciding between
    // TimeoutError and CancelledError, say), the request had its effect and stays accepted:
    // the task then finishes as one whose coroutine suppressed the cancellation.
    --cancels_requested_;
    unlock();
    return false;
  }
  if (returned_) {
    unlock();
    return true;
  }
  set_must_cancel(true);
  task_cancel_message_ = message;
  unlock();
  // Not woken here: the future we wait on could not be cancelled because it is done (its
  // wake-up is on its way) or about to be (a gather whose children all ended); the next step
  // raises CancelledError after it, as asyncio's Task.cancel leaves it to the pending __step.
  // Waking now would leave that future's outcome behind, unretrieved.
  return true;
}

bool TaskCore::cancel_in_cycle(const std::string& message) {
  // Our own cancel() is still passing on down a chain that led back to us: what we await waits,
  // directly or not, for us, so it will not finish first. Raise CancelledError out of our await
  // now; the futures above us in the cycle then end with us.
  lock();
  if (done() || returned_) {
    unlock();
    return false;
  }
  set_must_cancel(true);
  task_cancel_message_ = message;
  // Acquire, as in begin_cancel: the token of the wait we are in, armed after fut_waiter_ was set.
  std::uint64_t token = armed_token_.load(std::memory_order_acquire);
  unlock();
  fire(token);
  return true;
}

void TaskCore::cancel_for_teardown() {
  lock();
  bool first = !std::exchange(teardown_cancelled_, true);
  unlock();
  if (first) cancel("");
}

bool TaskCore::settle_in_flight_cancel() noexcept {
  bool observed = in_flight_count_observed_;
  if (--cancels_in_flight_ == 0) in_flight_count_observed_ = false;
  return observed;
}

int TaskCore::cancelling() const {
  lock();
  int n = cancels_requested_;
  if (cancels_in_flight_ > 0) in_flight_count_observed_ = true;
  unlock();
  return n;
}

int TaskCore::uncancel() {
  lock();
  if (cancels_in_flight_ > 0) in_flight_count_observed_ = true;
  if (cancels_requested_ > 0) {
    --cancels_requested_;
    if (cancels_requested_ == 0) set_must_cancel(false);  // as CPython 3.13
  }
  int n = cancels_requested_;
  unlock();
  return n;
}

void TaskCore::on_completed() {
  scheduler_.registry().remove(*this);
}

}  // namespace weft::detail
