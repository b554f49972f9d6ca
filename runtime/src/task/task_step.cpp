// One step of a task (asyncio's Task.__step and __wakeup) and the wake-ups that schedule the next.
//
// The task state word (architecture.md §7). Transitions, and who makes them:
//   scheduled -> running            the worker that popped it (exactly one: it was in one queue)
//   running   -> idle | scheduled   that worker, after the step, once the fiber is off its stack
//   running   -> notified           a wake-up that arrives during the step
//   idle      -> scheduled          the wake-up that wins the CAS; it alone enqueues the task
//   running   -> done               the worker, when the coroutine ended
//   running   -> scheduled          also a hand-off (continuation stealing): the creator's step
//                                   ends inside create_task and it goes to the spawn deque
// A wake-up is delivered only through fire(token): each suspension arms one token, and the
// wake sources (the awaited future's waiter, a timer, cancel) race to CAS it back to zero, so
// a stale wake-up can never resume the task at a later, unrelated suspension point. Each
// transition is a function of task_state.hpp, which tests/model/ explores over all interleavings
// and tests/runtime/task/test_task_state_word.cpp checks one by one.
#include <cassert>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include "sched/scheduler.hpp"
#include "task/task_state.hpp"
#include "weft/coroutine.hpp"
#include "weft/detail/fiber_thread_local.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/errors.hpp"

namespace weft::detail {
namespace {

// What a task yields to hand its worker over to a task it just created (see hand_off_to).
struct EagerHandoff {
  TaskCore* child;
};

thread_local TaskCore* tls_current_task = nullptr;

// What a task's body yielded, told apart once per suspension. By the typeinfo's address first:
// a program linked the usual way has one typeinfo per type, and std::any_cast, asked for the
// wrong type, falls back to comparing type names (strcmp) -- three misses before a sync
// primitive's AwaitWakeUp cost 14 % of pingpong's instructions (callgrind). A type whose
// typeinfo has a copy in another shared object still matches, by name, in the second round.
enum class Yielded { future, sleep, io, wake_up, handoff, other };

// Each is held by std::any in place (up to a pointer's size, nothrow-movable, in libstdc++):
// yielding one allocates nothing.
template <class... Awaitables>
constexpr bool fits_in_any = ((sizeof(Awaitables) <= sizeof(void*) &&
                               std::is_nothrow_move_constructible_v<Awaitables>)&&...);
static_assert(fits_in_any<AwaitFuture, AwaitWakeUp, SleepUntil, AwaitIo, EagerHandoff>);

Yielded classify(const std::type_info& type) noexcept {
  for (bool by_name : {false, true}) {
    auto is = [&](const std::type_info& candidate) {
      return by_name ? type == candidate : &type == &candidate;
    };
    if (is(typeid(AwaitFuture))) return Yielded::future;
    if (is(typeid(AwaitWakeUp))) return Yielded::wake_up;
    if (is(typeid(SleepUntil))) return Yielded::sleep;
    if (is(typeid(AwaitIo))) return Yielded::io;
    if (is(typeid(EagerHandoff))) return Yielded::handoff;
  }
  return Yielded::other;
}

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

// Whether awaiting `future` (done) raises CancelledError.
bool ended_with_cancellation(const FutureCore* future) {
  return future && (future->cancelled() || is_cancelled_error(future->peek_exception()));
}

}  // namespace

WEFT_FIBER_SAFE_TLS_LOAD(current_task_core, TaskCore*, tls_current_task)

std::uint64_t TaskCore::arm() noexcept {
  std::uint64_t token = ++last_token_;
  task_state::arm_token(armed_token_, token);  // release: see there
  return token;
}

void TaskCore::fire(std::uint64_t token) noexcept {
  if (claim_wake_up(token)) schedule_claimed();
}

bool TaskCore::claim_wake_up(std::uint64_t token) noexcept {
  // acq_rel CAS (see task_state.hpp): one winner per suspension.
  return task_state::claim_token(armed_token_, token);
}

void TaskCore::schedule_claimed() noexcept {
  // The word's CAS (see task_state.hpp): one enqueue per wake-up, by us or the stepping worker.
  if (task_state::notify(run_state_)) scheduler().wake_task(this);
}

void TaskCore::run() {
  // The invariant the whole design protects: a task enters RUNNING only from SCHEDULED.
  assert(run_state_.load(std::memory_order_relaxed) == TaskState::scheduled &&
         "a task entered RUNNING twice");
  // A release store, no CAS: nobody else writes a scheduled word (see task_state.hpp).
  task_state::begin_step(run_state_);
  if (sleeping_) {  // the sleep is over, whatever ended it: one timer waiter fewer
    sleeping_ = false;
    scheduler().count_sleep_ended();
  }

  // The inspect server's figures (architecture.md §18), only while it runs (nothing else reads
  // them): the step count and the step's duration (two clock reads). One writer: see
  // TaskCore::Extras::inspect_steps.
  const bool inspected = scheduler().inspecting();
  const std::int64_t began = inspected ? monotonic_now_ns() : 0;
  store_current_task(this);
  After after = step();
  store_current_task(nullptr);
  if (inspected) {
    const auto took = static_cast<std::uint64_t>(monotonic_now_ns() - began);
    Extras& figures = extras();  // made with the task while inspecting
    figures.inspect_steps.store(figures.inspect_steps.load(std::memory_order_relaxed) + 1,
                                std::memory_order_relaxed);
    figures.inspect_step_ns.store(figures.inspect_step_ns.load(std::memory_order_relaxed) + took,
                                  std::memory_order_relaxed);
  }

  switch (after) {
    case After::done: {
      task_state::end_step_done(run_state_);  // release: a reader of done sees the result
      release_ref();  // the runtime's reference (start()): may delete `this`
      return;
    }
    case After::requeue:
      task_state::end_step_yield(run_state_);  // release: the next popper sees the step
      scheduler().requeue_yielded(this);
      return;
    case After::wait:
      // acq_rel CAS running -> idle; if a wake-up arrived during the step (notified), we
      // enqueue on its behalf.
      if (task_state::end_step_wait(run_state_)) scheduler().wake_task(this);
      return;
    case After::handoff: {
      // The child our hand_off_to() asked for is still in what the step suspended with: nobody
      // else drives our frame (read here, not kept in a field a suspended task would carry).
      TaskCore* child =
          std::any_cast<EagerHandoff>(static_cast<std::any*>(frame_.yielded()))->child;
      Scheduler& scheduler = this->scheduler();
      // release, as a yield: whoever pops us next sees the step. No token was armed, so no
      // wake-up can have made us `notified`. From the push on another worker may step us:
      // nothing below touches `this`.
      task_state::end_step_yield(run_state_);
      scheduler.hand_off(this, child);
      return;
    }
  }
}

bool TaskCore::can_hand_off() const noexcept {
  return Frame::running_host() == &frame_;
}

TaskCore* direct_wait_task() noexcept {
  TaskCore* task = current_task_core();
  // The same condition as a hand-off's: the yield reaches the task's own step.
  return task && task->can_hand_off() ? task : nullptr;
}

void TaskCore::hand_off_to(TaskCore& child) {
  weft::suspend(EagerHandoff{&child});
}

void TaskCore::run_eagerly() {
  TaskCore* creator = current_task_core();
  run();
  store_current_task(creator);
}

void TaskCore::release_previous_wait() {
  if (!waiter_registered_) return;
  waiter_registered_ = false;
  // fut_waiter_ holds the future until the step forgets it, after this.
  FutureCore& future = *fut_waiter_;
  // If the wake-up came from somewhere else (cancel, say), our waiter may still be registered
  // with the future; take it back before it is reused.
  if (!waiter_delivered_.load(std::memory_order_acquire)) future.remove_waiter(*this);
  // asyncio's __wakeup takes the awaited future's result before the step, so its exception
  // counts as retrieved even when a pending cancel() throws CancelledError in instead.
  if (future.has_exception()) future.exception();
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
  Ref<FutureCore> forgotten;
  // After a hand-off there is no wait to forget, and a pending cancel waits for a suspension.
  const bool after_handoff = std::exchange(resuming_from_handoff_, false);
  if (!after_handoff && (fut_waiter_ || cancel_requests_.pending_hint())) {
    lock();
    forgotten = std::move(fut_waiter_);
    // A cancel() interrupted our sleep: asyncio's sleep future was cancelled with its message.
    if (auto message = cancel_requests_.take_interrupted_wait()) {
      if (!is_cancelled_error(error)) error = std::make_exception_ptr(CancelledError(*message));
    }
    if (cancel_requests_.must_cancel()) {
      // As asyncio's __step: a CancelledError on its way in is kept -- one thrown in, or the one
      // the awaited future was cancelled with (the await raises it), which carries the first
      // request's message -- and only otherwise is one made with the latest message.
      if (!is_cancelled_error(error) && !ended_with_cancellation(forgotten.get())) {
        error = std::make_exception_ptr(CancelledError(cancel_requests_.message()));
      }
      cancel_requests_.clear_must_cancel();
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
    bool cancel_now = cancel_requests_.must_cancel();
    cancel_requests_.clear_must_cancel();
    // Decided under the lock: a cancel() from another worker either comes before (and is
    // honoured just below) or sees returned_ and reports the task as done, never lost between.
    returned_ = !cancel_now;
    std::string message = cancel_now ? cancel_requests_.message() : std::string();
    unlock();
    if (cancel_now) {
      cancel_future(std::move(message));  // cancelled right before the coroutine returned
    } else {
      finish([] {}, "set_result");  // the result stays in the frame (TypedTask::value)
    }
    return After::done;
  }
  return after_suspension();
}

TaskCore::After TaskCore::after_suspension() {
  auto* yielded = static_cast<std::any*>(frame_.yielded());
  if (!yielded || !yielded->has_value()) return After::requeue;  // bare yield: sleep(0)
  const Yielded kind = classify(yielded->type());

  if (kind == Yielded::future) {
    auto* await = std::any_cast<AwaitFuture>(yielded);
    FutureCore* future = await->future;
    if (future == this) {
      pending_exception_ =
          std::make_exception_ptr(RuntimeError("Task cannot await on itself: " + repr()));
      return After::requeue;
    }
    Ref<FutureCore> held(future);
    // Publish the future before arming the wake-up: from this lock on, cancel() cancels the
    // future rather than firing our token; a cancel() that came before left _must_cancel, and
    // no token to fire (none is armed during a step), so it cannot wake us early either -- an
    // early wake-up would resume the await before the future is done.
    lock();
    fut_waiter_ = held;
    bool cancel_now = cancel_requests_.must_cancel();
    std::string message = cancel_now ? cancel_requests_.message() : std::string();
    unlock();
    // Task.cancel() arrived during the step: pass it on to what we now wait for.
    if (cancel_now && held->cancel(std::move(message))) {
      lock();
      cancel_requests_.clear_must_cancel();
      unlock();
    }
    waiter_token_ = arm();
    waiter_delivered_.store(false, std::memory_order_relaxed);  // no call can be in flight
    if (!future->add_waiter(*this)) {
      armed_token_.store(0, std::memory_order_relaxed);  // already done: no wake-up needed
      // The __wakeup asyncio would schedule at once takes its exception (see
      // release_previous_wait): a pending cancel() may throw CancelledError in instead.
      if (held->has_exception()) held->exception();
      return After::requeue;
    }
    waiter_registered_ = true;  // fut_waiter_ (= held) keeps the future alive
    return After::wait;
  }

  auto* sleep = kind == Yielded::sleep ? std::any_cast<SleepUntil>(yielded) : nullptr;
  auto* io = kind == Yielded::io ? std::any_cast<AwaitIo>(yielded) : nullptr;
  auto* direct = kind == Yielded::wake_up ? std::any_cast<AwaitWakeUp>(yielded) : nullptr;
  if (sleep || io || direct) {
    // Arm first, then look for a pending cancel: a cancel() that lands after the check fires
    // this token, so it cannot slip between the two and leave the task asleep for the whole
    // delay. One that landed before is delivered the same way, by us. A direct wait armed its
    // token in the body, before publishing it: a cancel() or a waker since then has claimed it
    // (and made us `notified`), or the check below finds it still ours.
    std::uint64_t token = direct ? direct->token : arm();
    lock();
    // A cancel() during the step: asyncio's __step cancels the sleep future it just got with the
    // pending message (and clears _must_cancel); from here on the first message wins.
    bool interrupted = cancel_requests_.must_cancel() && claim_wake_up(token);
    if (interrupted) {
      cancel_requests_.interrupt_wait_with_must_cancel_message();
      cancel_requests_.clear_must_cancel();
    }
    unlock();
    if (interrupted) {
      schedule_claimed();  // running -> notified: re-queued after this step, raises CancelledError
      return After::wait;
    }
    if (direct) return After::wait;  // its waker holds the token
    if (io) {
      // An I/O wait: the fd's readiness word now holds the token (or fires it at once).
      io->publisher->publish(*io->publisher, *this, token);
      return After::wait;
    }
    // The timer holds a reference (see TimerQueue::add).
    sleeping_ = true;  // before the timer can fire: the next step reads it
    scheduler().add_timer(sleep->deadline_ns, Ref<TaskCore>(this), token);
    return After::wait;
  }

  if (kind == Yielded::handoff) {  // run() takes the child from it
    resuming_from_handoff_ = true;
    return After::handoff;
  }

  pending_exception_ = std::make_exception_ptr(RuntimeError(
      std::string("Task got bad yield: a value of type ") + yielded->type().name() +
      " (only the runtime's awaitables may suspend a task; drive custom awaitables by hand)"));
  return After::requeue;
}

}  // namespace weft::detail
