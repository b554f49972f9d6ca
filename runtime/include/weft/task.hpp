// Task<R>: asyncio.Task -- a coroutine scheduled on the runtime. A shared handle; the runtime
// keeps the task alive until it is done, so dropping every handle does not cancel it.
//
//   auto t = weft::create_task(weft::coro(fetch, 7));   // runs soon, on any worker
//   int v = weft::await(t);                              // from inside another task
//   t.cancel("no longer needed");                        // from any thread
#pragma once

#include <concepts>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "weft/context_var.hpp"
#include "weft/coroutine.hpp"
#include "weft/detail/block_pool.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/errors.hpp"
#include "weft/future.hpp"

namespace weft {

namespace detail {
// The object behind a Task<R>: the untyped TaskCore (state word, cancellation, future) and the
// Coroutine<R> it steps, in one allocation (with its frame too, for a task made from a callable:
// TaskWithFrame below).
template <class R>
class TypedTask : public TaskCore {
 public:
  using result_type = R;
  TypedTask(Scheduler& scheduler, Coroutine<R> coroutine, std::string name, ContextPtr inherited,
            ContextStatePtr context = nullptr, SourceLocation created_at = {})
      : TaskCore(scheduler, coroutine.frame(), std::move(name), std::move(inherited),
                 std::move(context), created_at),
        coroutine_(std::move(coroutine)) {}
  // Reported here, not in ~TaskCore: repr() names the coroutine, whose frame dies with
  // coroutine_ before the base destructor runs.
  ~TypedTask() override { report_unretrieved_exception(); }
  Coroutine<R>& coroutine() noexcept { return coroutine_; }
  // The task's result is where the body left it, in its frame (no copy): written on the body's
  // stack before the step publishes the task done, which a reader of done() acquires; nobody
  // else drives a task's frame, and a closed frame's send/close never touch it.
  std::optional<Value<R>>& value() { return coroutine_.frame().result(); }

 private:
  Coroutine<R> coroutine_;
};

// The memory of a frame built inside its task's block. A base that comes before the task: the
// frame is built first, and its memory outlives the task's own destruction, during which the
// task's Coroutine handle destroys the frame (Frame::mark_embedded).
template <class FrameT>
class FrameSlot {
 protected:
  template <class... A>
  explicit FrameSlot(A&&... args) {
    ::new (static_cast<void*>(bytes_)) FrameT(std::forward<A>(args)...);
    slot_frame()->mark_embedded();
  }
  FrameT* slot_frame() noexcept { return std::launder(reinterpret_cast<FrameT*>(bytes_)); }

 private:
  alignas(FrameT) unsigned char bytes_[sizeof(FrameT)];
};

// A task made from a callable (create_task([] { ... }), run_coroutine_threadsafe): nobody has
// seen its coroutine yet, so the frame goes into the task's block -- one allocation per task.
// get_coro() gives the coroutine as for any task; it lives as long as the task does.
template <class R, class F>
class TaskWithFrame : FrameSlot<CallableFrame<R, F>>, public TypedTask<R> {
  using Slot = FrameSlot<CallableFrame<R, F>>;

 public:
  TaskWithFrame(Scheduler& scheduler, F fn, SourceLocation where, std::string name,
                ContextPtr inherited, ContextStatePtr context)
      : Slot(FrameKind::coroutine, FrameName::literal("<lambda>"), where, std::move(fn)),
        TypedTask<R>(scheduler, Coroutine<R>::adopt(this->slot_frame()), std::move(name),
                     std::move(inherited), std::move(context), where) {}
};

// RuntimeError for a member called on a handle that refers to no task.
[[noreturn]] void throw_empty_handle(const char* handle, const char* source);

// A callable becomes a coroutine; a coroutine stays one.
template <class C>
auto as_coroutine(C&& c) {
  if constexpr (requires {
                  typename std::decay_t<C>::result_type;
                  c.frame();
                }) {
    using R = typename std::decay_t<C>::result_type;
    return Coroutine<R>(std::forward<C>(c));
  } else {
    return Coroutine<std::invoke_result_t<std::decay_t<C>&>>(coro(std::forward<C>(c)));
  }
}
}  // namespace detail

template <class R>
class Task {
 public:
  using result_type = R;
  Task() = default;
  explicit Task(detail::Ref<detail::TypedTask<R>> state) : state_(std::move(state)) {}

  // Every member but operator bool, == and state() raises RuntimeError on an empty handle (one
  // default-constructed or moved from): it refers to no task.
  bool done() const { return core().done(); }
  bool cancelled() const { return core().cancelled(); }
  // The result, the exception rethrown, CancelledError, or InvalidStateError while pending.
  decltype(auto) result() const {
    core().check_result();
    if constexpr (std::is_void_v<R>)
      return;
    else
      return static_cast<const R&>(*state_->value());
  }
  std::exception_ptr exception() const { return core().exception(); }

  // Requests cancellation: CancelledError is thrown into the coroutine at its suspension point
  // on its next step (the future it awaits is cancelled). False if the task is done.
  bool cancel(std::string message = {}) { return core().cancel(std::move(message)); }
  int cancelling() const { return core().cancelling(); }
  int uncancel() { return core().uncancel(); }

  // fn(task) runs soon after the task is done, on the runtime (asyncio's call_soon).
  template <class F>
  std::uint64_t add_done_callback(F fn) {
    return core().add_done_callback(Callback<F>{std::move(fn)});
  }
  std::size_t remove_done_callback(std::uint64_t id) { return core().remove_done_callback(id); }
  template <detail::ComparableCallback F>
  std::size_t remove_done_callback(F fn) {
    return detail::remove_done_callbacks_equal_to<Callback<F>>(core(), fn);
  }

  // Where the task waits: one frame (file, line, function of its await) while it is suspended;
  // for a task that failed, the await it last left before raising (C++ exceptions carry no
  // traceback); empty once it finished or was cancelled. limit <= 0 gives none.
  // A running task asking about itself gets the frame of its coroutine at the line that asked
  // (asyncio walks the running coroutine's frame).
  std::vector<FrameSummary> get_stack(std::optional<int> limit = std::nullopt,
                                      SourceLocation where = SourceLocation::current()) const {
    return core().get_stack(limit, where);
  }
  // Prints get_stack() as Python's traceback module does (default: standard error).
  void print_stack(std::optional<int> limit = std::nullopt, std::ostream* out = nullptr,
                   SourceLocation where = SourceLocation::current()) const;

  Coroutine<R>& get_coro() const { return core().coroutine(); }
  // The Context the task runs in (asyncio 3.12): its own copy, or the one create_task was given.
  // Its own copy lives inside the task and keeps it alive: do not store it in the task's result.
  Context get_context() const { return Context(core().get_context()); }
  std::string get_name() const { return core().get_name(); }
  Runtime& get_loop() const { return core().get_loop(); }  // the runtime it runs on
  void set_name(std::string name) { core().set_name(std::move(name)); }
  std::string repr() const { return core().repr(); }

  // Inside a task: waits for this one and returns its result (a copy; moved for move-only R).
  Value<R> await() const {
    if (!core().done()) {
      suspend(detail::AwaitFuture{state_.get()});
      if (!core().done()) throw RuntimeError("await wasn't used with future");
    }
    core().check_result();
    if constexpr (std::is_void_v<R>)
      return {};
    else if constexpr (std::is_copy_constructible_v<R>)
      return *state_->value();
    else
      return std::move(*state_->value());
  }

  explicit operator bool() const noexcept { return static_cast<bool>(state_); }
  friend bool operator==(const Task& a, const Task& b) noexcept { return a.state_ == b.state_; }
  detail::TypedTask<R>& core() const {
    if (!state_) detail::throw_empty_handle("Task", "create_task()");
    return *state_;
  }
  const detail::Ref<detail::TypedTask<R>>& state() const noexcept { return state_; }

  // asyncio's Task is a Future: the same task, seen as a Future<R> (shield(t) of a done t gives
  // this view, for one).
  operator Future<R>() const {
    if (!state_) detail::throw_empty_handle("Task", "create_task()");
    return Future<R>(state_, &state_->value());
  }

 private:
  template <class F>
  struct Callback {
    F fn;
    // No reference to the task (it owns its callbacks: that would be a cycle): the task that runs
    // the callback is the one it was added to, and holds itself meanwhile.
    void operator()(detail::FutureCore& task) {
      Task self(detail::Ref<detail::TypedTask<R>>(static_cast<detail::TypedTask<R>*>(&task)));
      fn(self);
    }
  };

  detail::Ref<detail::TypedTask<R>> state_;
};

namespace detail {
void print_stack_to(const TaskCore& task, std::optional<int> limit, std::ostream* out,
                    const SourceLocation& caller);
}
template <class R>
void Task<R>::print_stack(std::optional<int> limit, std::ostream* out, SourceLocation where) const {
  detail::print_stack_to(core(), limit, out, where);
}

namespace detail {
// `cancelled`: Task.cancel() before any worker can see the task, so its body never runs (its
// first step throws CancelledError into the unstarted coroutine), on any number of workers.
// `context`: the Context the task runs in (create_task's context=); null: a copy of its
// creator's (contextvars.copy_context()).
// `eager_start`: run the first step inside create_task; nullopt: as the runtime's task factory
// says (RunOptions::eager_tasks, set_task_factory). Never for an `external` submission: a foreign
// thread has no worker to run a step on.
template <class Block>
Task<typename Block::result_type> start_task(Scheduler& scheduler, Ref<Block> block, bool external,
                                             bool cancelled, std::optional<bool> eager_start) {
  using R = typename Block::result_type;
  Ref<TypedTask<R>> state = std::move(block);
  if (cancelled) state->cancel("");
  if (!external && eager_start.value_or(eager_tasks_by_default(scheduler))) {
    submit_task_eagerly(scheduler, *state);
  } else {
    submit_task(scheduler, *state, external);
  }
  return Task<R>(std::move(state));
}

// The task's block: `Block` (TypedTask<R> or a type derived from it), one allocation from the
// block pool (FutureCore's operator new), holding its first reference.
template <class Block, class... A>
Ref<Block> make_task_block(A&&... args) {
  return make_ref<Block>(std::forward<A>(args)...);
}

template <class R>
Task<R> make_task(Scheduler& scheduler, Coroutine<R> coroutine, std::string name, bool external,
                  bool cancelled = false, std::optional<bool> eager_start = std::nullopt,
                  ContextStatePtr context = nullptr, SourceLocation where = {}) {
  ContextPtr inherited = context ? nullptr : current_context();
  return start_task(scheduler,
                    make_task_block<TypedTask<R>>(scheduler, std::move(coroutine), std::move(name),
                                                  std::move(inherited), std::move(context), where),
                    external, cancelled, eager_start);
}

// The task for what create_task was given: a coroutine as it is; a callable (not yet a
// coroutine, so nobody has its frame) in one block with its frame, made at `where`. `Block` wraps
// the task's block type (Same for the task alone; see run_coroutine_threadsafe for another).
// `where`: create_task's caller -- the task's creation site in debug mode, and a callable's
// frame's.
template <class T>
using Same = T;
template <template <class> class Wrap = Same, class C>
auto new_task_block(Scheduler& scheduler, C&& coroutine_or_callable, std::string name,
                    ContextStatePtr context, SourceLocation where = SourceLocation::current()) {
  ContextPtr inherited = context ? nullptr : current_context();
  if constexpr (requires {
                  typename std::decay_t<C>::result_type;
                  coroutine_or_callable.frame();
                }) {
    using R = typename std::decay_t<C>::result_type;
    return make_task_block<Wrap<TypedTask<R>>>(
        scheduler, Coroutine<R>(std::forward<C>(coroutine_or_callable)), std::move(name),
        std::move(inherited), std::move(context), where);
  } else {
    using F = std::decay_t<C>;
    using R = std::invoke_result_t<F&>;
    return make_task_block<Wrap<TaskWithFrame<R, F>>>(
        scheduler, F(std::forward<C>(coroutine_or_callable)), where, std::move(name),
        std::move(inherited), std::move(context));
  }
}
}  // namespace detail

// Wraps a coroutine (or a callable, made into one) in a task scheduled on the running runtime.
// RuntimeError outside a runtime. Default (empty) name: Task-1, Task-2, ... in creation order.
// `where` (leave it defaulted): in debug mode, the task's creation site -- asyncio's
// task._source_traceback, shown as "Object created at" in the reports about the task.
template <class C>
auto create_task(C&& coroutine_or_callable, SourceLocation where = SourceLocation::current()) {
  auto& scheduler = detail::running_scheduler("create_task");
  auto state =
      detail::new_task_block(scheduler, std::forward<C>(coroutine_or_callable), {}, nullptr, where);
  return detail::start_task(scheduler, std::move(state), false, false, std::nullopt);
}
// (A template on the name's type, so that a braced {.name = ...} goes to the TaskOptions form.)
template <class C, std::convertible_to<std::string> Name>
auto create_task(C&& coroutine_or_callable, Name&& name,
                 SourceLocation where = SourceLocation::current()) {
  auto& scheduler = detail::running_scheduler("create_task");
  auto state = detail::new_task_block(scheduler, std::forward<C>(coroutine_or_callable),
                                      std::string(std::forward<Name>(name)), nullptr, where);
  return detail::start_task(scheduler, std::move(state), false, false, std::nullopt);
}

// create_task's keyword arguments (asyncio.create_task(coro, *, name=None, context=None,
// eager_start=None)).
struct TaskOptions {
  std::string name = {};  // empty: Task-1, Task-2, ...
  // asyncio 3.14: the coroutine runs at once, inside create_task, until it first suspends (a
  // coroutine that ends without suspending leaves the task done on return), and only then is
  // the task scheduled; the creator goes on after that first step. Unset (None): as the
  // runtime's task factory says -- lazy unless RunOptions::eager_tasks or
  // set_task_factory(weft::eager_task_factory).
  std::optional<bool> eager_start = std::nullopt;
  // asyncio 3.11: the Context the task runs in -- that one, not a copy: its set()s are seen by
  // ctx.get() and by the Context's other users. None: a copy of the creator's.
  std::optional<Context> context = std::nullopt;
};

//   auto t = weft::create_task(weft::coro(lookup, key), {.name = "lookup", .eager_start = true});
template <class C>
auto create_task(C&& coroutine_or_callable, TaskOptions options,
                 SourceLocation where = SourceLocation::current()) {
  auto& scheduler = detail::running_scheduler("create_task");
  auto state = detail::new_task_block(scheduler, std::forward<C>(coroutine_or_callable),
                                      std::move(options.name),
                                      options.context ? options.context->state() : nullptr, where);
  return detail::start_task(scheduler, std::move(state), false, false, options.eager_start);
}

// A type-erased view of any task, for current_task() and all_tasks().
class TaskRef {
 public:
  TaskRef() = default;
  explicit TaskRef(detail::Ref<detail::TaskCore> core) : core_(std::move(core)) {}
  explicit operator bool() const noexcept { return static_cast<bool>(core_); }
  // As Task's: RuntimeError on an empty TaskRef (current_task() outside a task gives one).
  bool done() const { return core().done(); }
  bool cancelled() const { return core().cancelled(); }
  bool cancel(std::string message = {}) { return core().cancel(std::move(message)); }
  int cancelling() const { return core().cancelling(); }
  int uncancel() { return core().uncancel(); }
  std::string get_name() const { return core().get_name(); }
  Runtime& get_loop() const { return core().get_loop(); }  // the runtime it runs on
  void set_name(std::string name) { core().set_name(std::move(name)); }
  Context get_context() const { return Context(core().get_context()); }
  std::string repr() const { return core().repr(); }
  std::vector<FrameSummary> get_stack(std::optional<int> limit = std::nullopt,
                                      SourceLocation where = SourceLocation::current()) const {
    return core().get_stack(limit, where);
  }
  void print_stack(std::optional<int> limit = std::nullopt, std::ostream* out = nullptr,
                   SourceLocation where = SourceLocation::current()) const {
    detail::print_stack_to(core(), limit, out, where);
  }
  // Whether both refer to the same task; false if either is empty.
  template <class R>
  bool is(const Task<R>& task) const noexcept {
    return core_ && core_.get() == static_cast<detail::TaskCore*>(task.state().get());
  }
  friend bool operator==(const TaskRef& a, const TaskRef& b) noexcept { return a.core_ == b.core_; }
  detail::TaskCore& core() const {
    if (!core_) detail::throw_empty_handle("TaskRef", "current_task() or all_tasks()");
    return *core_;
  }

 private:
  detail::Ref<detail::TaskCore> core_;
};

// The task running this code (asyncio.current_task): empty in a callback the runtime runs;
// RuntimeError ("no running event loop") outside any runtime.
TaskRef current_task();
// The same, never throwing: empty outside a task, runtime or not. For C++ code that may run on
// any thread (a library helper, a destructor); in_runtime() says whether a runtime is running it.
TaskRef current_task_or_null() noexcept;
bool in_runtime() noexcept;
// The tasks of the running runtime that are not done yet.
std::vector<TaskRef> all_tasks();

}  // namespace weft
