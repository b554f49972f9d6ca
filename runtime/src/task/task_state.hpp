// The transitions of the task state word and of the armed wake-up token, as named functions.
// TaskCore::run() and TaskCore::fire() are built from them; tests/model/ runs the same functions
// over an instrumented atomic and explores their interleavings. They are templates over the
// atomic object's type only so that the model can substitute its own: with std::atomic they are
// the same loads, stores and CASes, with the same orders, that the task used to write inline.
//
// The word's transitions, and who makes them:
//   scheduled -> running            begin_step: the worker that popped it (it was in one queue)
//   running   -> idle               end_step_wait: that worker, nothing arrived during the step
//   running   -> notified           notify: a wake-up that arrives during the step
//   notified  -> scheduled          end_step_wait: that worker, which then enqueues the task
//   idle      -> scheduled          notify: the wake-up that wins the CAS; it alone enqueues
//   running   -> scheduled          end_step_yield: the worker re-queues a yielding task
//   running   -> done               end_step_done
// A wake-up reaches notify() only through claim_token(): each suspension arms one token and the
// wake sources race to CAS it back to zero, so one wake-up per suspension, and never a stale one.
#pragma once

#include <atomic>
#include <cstdint>

#include "weft/detail/task_core.hpp"

namespace weft::detail::task_state {

// scheduled -> running. Precondition: the word is scheduled and the caller popped the task from
// the one queue it was in.
template <class Word>
void begin_step(Word& state) noexcept {
  // A plain store: while the task is scheduled nobody else writes the word (notify() leaves a
  // scheduled task alone), and the queue we popped it from gave us the acquire. Release: a
  // waker that reads running (through the token this step arms) sees the step's writes.
  state.store(TaskState::running, std::memory_order_release);
}

// running -> done.
template <class Word>
void end_step_done(Word& state) noexcept {
  // Release: a thread that reads done sees the finished task.
  state.store(TaskState::done, std::memory_order_release);
}

// running -> scheduled, for a step that yielded: the caller re-queues the task. No wake-up can
// be in flight (a yield arms no token), so nothing else writes the word meanwhile.
template <class Word>
void end_step_yield(Word& state) noexcept {
  // Release: the worker that pops the task next (through the queue's acquire) sees the step.
  state.store(TaskState::scheduled, std::memory_order_release);
}

// After a step that suspended on an armed token: running -> idle (returns false: the wake-up
// will enqueue it), or notified -> scheduled (returns true: the caller enqueues it, on behalf
// of the wake-up that arrived during the step).
template <class Word>
bool end_step_wait(Word& state) noexcept {
  TaskState expected = TaskState::running;
  // Release: the next worker to run us (via a waker's acquire) sees this step's effects.
  if (state.compare_exchange_strong(expected, TaskState::idle, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
    return false;
  }
  // Release: as end_step_yield; only this worker writes a notified word.
  state.store(TaskState::scheduled, std::memory_order_release);
  return true;
}

// A wake-up that claimed its token: idle -> scheduled (returns true: the caller enqueues the
// task, and only it does), running -> notified (the stepping worker re-queues it), otherwise
// nothing (already scheduled or notified, or done).
template <class Word>
bool notify(Word& state) noexcept {
  // Acquire: a word written by the worker (idle) carries that step's effects.
  TaskState seen = state.load(std::memory_order_acquire);
  for (;;) {
    if (seen == TaskState::idle) {
      // acq_rel: the worker's release of idle happened before; our enqueue publishes on.
      if (state.compare_exchange_weak(seen, TaskState::scheduled, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return true;
      }
    } else if (seen == TaskState::running) {
      // The step that armed the token has not finished: its worker re-queues the task.
      if (state.compare_exchange_weak(seen, TaskState::notified, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
        return false;
      }
    } else {
      return false;  // scheduled or notified already, or done
    }
  }
}

// The stepping worker arms `token` (nonzero, fresh per suspension) before a wake source can
// learn it.
template <class Token>
void arm_token(Token& armed, std::uint64_t token) noexcept {
  // Release: a waker that wins the CAS on this token sees everything the step did before.
  armed.store(token, std::memory_order_release);
}

// A wake source: true if it is the one wake-up for `token` (and must then call notify()).
template <class Token>
bool claim_token(Token& armed, std::uint64_t token) noexcept {
  std::uint64_t expected = token;
  // acq_rel: one winner per token; it observes the step that armed it.
  return token != 0 && armed.compare_exchange_strong(expected, 0, std::memory_order_acq_rel,
                                                     std::memory_order_relaxed);
}

}  // namespace weft::detail::task_state
