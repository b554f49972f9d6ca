// TaskGroup, after asyncio's taskgroups.py (3.11). The children's done callbacks run on any
// worker while the parent task may be exiting the scope on another, so the group's state sits
// behind a mutex; tasks are cancelled outside it (cancelling may complete futures).
#include "weft/task_group.hpp"

#include <thread>

#include "weft/errors.hpp"

namespace weft {

ExceptionGroup::ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions)
    : message_(std::move(message)), exceptions_(std::move(exceptions)) {
  std::size_t n = exceptions_.size();
  what_ = message_ + " (" + std::to_string(n) + " sub-exception" + (n == 1 ? "" : "s") + ")";
}

namespace detail {

class TaskGroupState {
 public:
  std::mutex mutex;
  TaskRef parent;
  std::vector<Ref<TaskCore>> tasks;        // guarded: not done yet
  std::vector<std::exception_ptr> errors;  // guarded
  bool entered = false;                    // guarded
  bool exiting = false;                    // guarded
  bool aborting = false;                   // guarded
  bool parent_cancel_requested = false;    // guarded
  bool parent_cancel_in_flight = false;    // guarded: decided, parent.cancel() not returned
  Future<void> on_completed;               // guarded; replaced per wait
  bool waiting = false;                    // guarded

  // Called with the mutex held: the tasks to cancel (outside the lock).
  std::vector<Ref<TaskCore>> abort_locked() {
    aborting = true;
    std::vector<Ref<TaskCore>> to_cancel;
    for (auto& t : tasks) {
      if (!t->done()) to_cancel.push_back(t);
    }
    return to_cancel;
  }

  void on_task_done(TaskCore& task) {
    task.discard_awaited_by(parent.core());
    std::vector<Ref<TaskCore>> to_cancel;
    bool cancel_parent = false;
    {
      std::lock_guard lock(mutex);
      std::erase_if(tasks, [&](const auto& t) { return t.get() == &task; });
      if (waiting && tasks.empty()) {
        try {
          on_completed.set_result();
        } catch (const InvalidStateError&) {
          // The parent was cancelled while waiting; it will look again.
        }
      }
      if (task.cancelled()) return;
      std::exception_ptr error = task.exception();
      if (!error) return;
      errors.push_back(error);
      if (parent.done()) return;  // nothing left to interrupt
      if (!aborting && !parent_cancel_requested) {
        // The first failure: cancel the siblings and interrupt the parent's body.
        to_cancel = abort_locked();
        parent_cancel_requested = true;
        parent_cancel_in_flight = true;
        cancel_parent = true;
      }
    }
    for (auto& t : to_cancel) t->cancel("");
    if (cancel_parent) {
      parent.cancel();
      std::lock_guard lock(mutex);
      parent_cancel_in_flight = false;
    }
  }
};

}  // namespace detail

TaskGroup::TaskGroup() : state_(std::make_shared<detail::TaskGroupState>()) {}

void TaskGroup::enter() {
  if (entered()) {
    throw RuntimeError("TaskGroup " + repr() +
                       " has already been entered: a group is entered once; make another");
  }
  TaskRef parent = current_task();  // RuntimeError outside a runtime, as asyncio
  if (!parent) {
    throw RuntimeError("TaskGroup " + repr() +
                       " cannot determine the parent task: enter it from inside a task");
  }
  std::lock_guard lock(state_->mutex);
  state_->parent = std::move(parent);
  state_->entered = true;
}

bool TaskGroup::entered() const {
  std::lock_guard lock(state_->mutex);
  return state_->entered;
}

std::string TaskGroup::repr() const {
  // asyncio's: "<TaskGroup tasks=1 errors=1 cancelling>", "<TaskGroup entered>", "<TaskGroup>".
  std::lock_guard lock(state_->mutex);
  std::string text = "<TaskGroup";
  if (!state_->tasks.empty()) text += " tasks=" + std::to_string(state_->tasks.size());
  if (!state_->errors.empty()) text += " errors=" + std::to_string(state_->errors.size());
  if (state_->aborting) {
    text += " cancelling";
  } else if (state_->entered) {
    text += " entered";
  }
  return text + ">";
}

void TaskGroup::check_accepting() {
  std::unique_lock lock(state_->mutex);
  const char* why = nullptr;
  const char* advice = nullptr;
  if (!state_->entered) {
    why = "has not been entered";
    advice = "create its tasks inside weft::task_group(...)'s body";
  } else if (state_->exiting && state_->tasks.empty()) {
    why = "is finished";
    advice = "its scope has ended; create the task in another group, or with weft::create_task";
  } else if (state_->aborting) {
    why = "is shutting down";
    advice = "a task of the group failed (or it was cancelled) and it is cancelling the rest";
  } else {
    return;
  }
  lock.unlock();
  throw RuntimeError("TaskGroup " + repr() + " " + why + ": " + advice);
}

void TaskGroup::adopt(detail::TaskCore& task) {
  detail::Ref<detail::TaskCore> shared(&task);
  {
    std::lock_guard lock(state_->mutex);
    state_->tasks.push_back(shared);
  }
  // The await graph (asyncio 3.14): the parent awaits each child until it ends. The state holds
  // the parent, and the done callback below holds the state, so the record never outlives it.
  task.add_awaited_by(state_->parent.core());
  std::weak_ptr<detail::TaskGroupState> weak = state_;
  // Runs soon after the task is done (at once, scheduled, if it already is).
  task.add_done_callback([state = state_](detail::FutureCore& done) {
    state->on_task_done(static_cast<detail::TaskCore&>(done));
  });
}

void TaskGroup::exit(std::exception_ptr body_error) {
  auto& s = *state_;
  bool body_cancelled = false;
  if (body_error) {
    try {
      std::rethrow_exception(body_error);
    } catch (const CancelledError&) {
      body_cancelled = true;
    } catch (...) {
    }
  }
  std::exception_ptr propagate_cancellation = body_cancelled ? body_error : nullptr;
  std::vector<detail::Ref<detail::TaskCore>> to_cancel;
  {
    std::lock_guard lock(s.mutex);
    s.exiting = true;
    if (body_error && !s.aborting) to_cancel = s.abort_locked();
  }
  for (auto& t : to_cancel) t->cancel("");

  for (;;) {
    Future<void> wait_for;
    {
      std::lock_guard lock(s.mutex);
      if (s.tasks.empty()) break;
      s.on_completed = Future<void>();
      s.waiting = true;
      wait_for = s.on_completed;
    }
    try {
      wait_for.await();
    } catch (const CancelledError&) {
      std::lock_guard lock(s.mutex);
      if (!s.aborting) {
        propagate_cancellation = std::current_exception();
        to_cancel = s.abort_locked();
      }
    }
    for (auto& t : to_cancel) t->cancel("");
    to_cancel.clear();
  }

  std::vector<std::exception_ptr> errors;
  bool parent_cancel_requested;
  for (;;) {
    {
      std::lock_guard lock(s.mutex);
      if (!s.parent_cancel_in_flight) {
        s.waiting = false;
        errors = s.errors;
        parent_cancel_requested = s.parent_cancel_requested;
        break;
      }
    }
    // The last child's done callback, on another worker, decided to cancel us and has not done
    // it yet (a few instructions: a callback never suspends). Let it land before the uncancel()
    // below takes it back: landing after we left, it would cancel whatever we await next.
    std::this_thread::yield();
  }
  // The group cancelled its parent when a child failed -- perhaps while we waited above, which
  // is why this comes after the wait (as in CPython 3.12; 3.11 checked before and could leave
  // the parent's cancel count raised). Take that request back; if none other is pending, the
  // CancelledError it caused is not propagated.
  if (parent_cancel_requested && s.parent.uncancel() == 0) propagate_cancellation = nullptr;
  // Cancellation wins only when no child failed; failures have priority.
  if (propagate_cancellation && errors.empty()) std::rethrow_exception(propagate_cancellation);
  if (body_error && !body_cancelled) errors.push_back(body_error);
  if (!errors.empty()) {
    // 3.13: the parent is being cancelled from outside as well. The ExceptionGroup goes up, and
    // the cancellation stays pending: uncancel() then cancel() keeps the count and re-arms it,
    // so the parent's next await raises CancelledError.
    if (s.parent.cancelling() > 0) {
      s.parent.uncancel();
      s.parent.cancel();
    }
    throw ExceptionGroup("unhandled errors in a TaskGroup", std::move(errors));
  }
}

}  // namespace weft
