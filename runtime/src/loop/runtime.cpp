// The public face of the runtime: Runtime, the asyncio free functions, and the bridge the
// public templates use to reach the scheduler.
#include "weft/runtime.hpp"

#include <atomic>
#include <cmath>
#include <cstdio>
#include <string>
#include <system_error>
#include <thread>

#include "sched/scheduler.hpp"
#include "weft/coroutine.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/errors.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/to_thread.hpp"
#include "weft/warnings.hpp"

namespace weft {

namespace detail {
namespace {

// Outside tasks, each thread has a Context of its own (contextvars' per-thread context), made on
// first use; a ContextScope (Context::run, a to_thread job, a callback) replaces it meanwhile.
// Only read outside tasks, so no fiber ever caches its address across a thread switch.
thread_local ContextStatePtr tls_context;

ContextStatePtr& thread_context() {
  if (!tls_context) tls_context = std::make_shared<ContextState>();
  return tls_context;
}

std::atomic<std::uint64_t> task_counter{0};
std::atomic<std::uint64_t> context_var_counter{0};
std::atomic<std::uint64_t> context_counter{0};

std::string address_repr(const void* address) {
  char text[32];
  std::snprintf(text, sizeof text, "%p", address);
  return text;
}

}  // namespace

Scheduler* running_scheduler_or_null() noexcept {
  if (TaskCore* task = current_task_core()) return &task->scheduler();
  return thread_scheduler();
}

Scheduler& running_scheduler(const char* what) {
  if (Scheduler* s = running_scheduler_or_null()) return *s;
  throw RuntimeError(std::string("no running event loop: ") + what +
                     "() must be called from inside a task (start one with weft::run, or submit "
                     "from another thread with run_coroutine_threadsafe)");
}

void check_not_in_runtime(const char* what) {
  if (running_scheduler_or_null()) {
    throw RuntimeError(std::string(what) +
                       " cannot be called from a running event loop: await the coroutine, or "
                       "create_task() it, instead");
  }
}

void submit_task(Scheduler& scheduler, TaskCore& task, bool external) {
  if (!external && running_scheduler_or_null()) {
    scheduler.add_task(task);  // from inside: accepted even while shutting down
    return;
  }
  if (!scheduler.try_add_external_task(task)) {
    throw RuntimeError(
        "the runtime is shutting down and accepts no new tasks from outside; submit before "
        "shutdown() or create tasks from inside the runtime");
  }
}

void submit_task_eagerly(Scheduler& scheduler, TaskCore& task) {
  scheduler.add_task_eagerly(task);
}

bool eager_tasks_by_default(Scheduler& scheduler) noexcept {
  return scheduler.eager_tasks();
}

std::uint64_t next_task_number() noexcept {
  // Relaxed: only uniqueness matters (asyncio's itertools.count).
  return task_counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

std::uint64_t reserve_task_numbers(std::uint64_t count) noexcept {
  // Relaxed, as above.
  return task_counter.fetch_add(count, std::memory_order_relaxed) + 1;
}

std::int64_t scheduler_now_ns(Scheduler& scheduler) noexcept {
  return scheduler.now_ns();
}

std::shared_ptr<CallbackScheduler> as_callback_scheduler(Scheduler& scheduler) {
  return scheduler.shared_from_this();
}

void submit_blocking(Scheduler& scheduler, std::function<void()> job) {
  scheduler.to_thread_pool().submit(std::move(job));
}

Runtime& runtime_of(Scheduler& scheduler) {
  // Acquire: pairs with the Runtime's release stores of itself and of null.
  Runtime* owner = scheduler.owner.load(std::memory_order_acquire);
  if (!owner) {
    throw RuntimeError(
        "no running event loop: the runtime is being destroyed (its Runtime object is gone)");
  }
  return *owner;
}

void cancel_all_tasks(Scheduler& scheduler) {
  scheduler.cancel_all_tasks();
}

ContextState& current_context_state() {
  if (TaskCore* task = current_task_core()) return task->current_context();
  return *thread_context();
}

ContextStatePtr current_context_state_ptr() {
  if (TaskCore* task = current_task_core()) return task->current_context_ptr();
  return thread_context();
}

ContextPtr current_context() noexcept {
  if (TaskCore* task = current_task_core()) return task->current_context().data();
  // No allocation for a thread that never set a variable: its bindings are empty.
  return tls_context ? tls_context->data() : nullptr;
}

std::uint64_t current_context_id() {
  return current_context_state().id;
}

ContextScope::ContextScope(ContextStatePtr context, bool mark_entered)
    : context_(std::move(context)), marked_(mark_entered) {
  if (mark_entered) {
    // Acq_rel: a run() that enters after another left sees what was done inside (the bindings
    // themselves are under the Context's lock; this orders the rest).
    if (&current_context_state() == context_.get() ||
        context_->entered.exchange(true, std::memory_order_acq_rel)) {
      throw RuntimeError("cannot enter context: <Context object at " +
                         address_repr(context_.get()) +
                         "> is already entered: a Context runs one run() at a time (and code "
                         "already in it needs none); use copy() for a second one");
    }
  }
  if (TaskCore* task = current_task_core()) {
    try {
      saved_ = task->exchange_entered_context(context_);  // may allocate the task's Extras
    } catch (...) {
      // Release: as the destructor's, for a scope that never began.
      if (mark_entered) context_->entered.store(false, std::memory_order_release);
      throw;
    }
    task_ = task;
  } else {
    saved_ = std::exchange(tls_context, context_);
  }
}

ContextScope::~ContextScope() {
  if (task_) {
    static_cast<TaskCore*>(task_)->exchange_entered_context(std::move(saved_));
  } else {
    tls_context = std::move(saved_);
  }
  // Release: pairs with the acq_rel exchange of the next run().
  if (marked_) context_->entered.store(false, std::memory_order_release);
}

std::uint64_t next_context_id() noexcept {
  // Relaxed: only uniqueness matters.
  return context_counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

std::string context_var_repr(const std::string& name, const std::string* default_repr,
                             const void* address) {
  std::string out = "<ContextVar name='" + name + "'";
  if (default_repr) out += " default=" + *default_repr;
  return out + " at " + address_repr(address) + ">";
}

void throw_bad_token(const std::string& token_repr, BadToken why) {
  switch (why) {
    case BadToken::used:
      throw RuntimeError(token_repr +
                         " has already been used once: a token resets its variable once; "
                         "call set() again for a new token");
    case BadToken::other_var:
      throw ValueError(token_repr +
                       " was created by a different ContextVar: reset a token with the "
                       "variable whose set() returned it");
    case BadToken::other_context:
      break;
  }
  throw ValueError(token_repr +
                   " was created in a different Context: each task (and each thread outside "
                   "tasks) has a Context of its own; reset a token in the task or thread "
                   "that called set()");
}

std::string token_repr(bool used, const std::string& var_repr, const void* address) {
  return std::string(used ? "<Token used var=" : "<Token var=") + var_repr + " at " +
         address_repr(address) + ">";
}

std::int64_t seconds_to_ns(double seconds, const char* api) {
  if (std::isnan(seconds)) {
    throw ValueError(std::string("Invalid delay: NaN (not a number), given to ") + api +
                     "; pass a number of seconds (inf: no limit)");
  }
  if (seconds <= 0) return 0;
  // Compared as double before converting: a double at or beyond 2^63 has no int64 value.
  double ns = std::round(seconds * 1e9);
  if (ns >= static_cast<double>(kFarNs)) return kNeverNs;
  return static_cast<std::int64_t>(ns);
}

void throw_empty_handle(const char* handle, const char* source) {
  throw RuntimeError(std::string("empty ") + handle +
                     " handle: it refers to no task (default-constructed or moved from); assign "
                     "it what " +
                     source + " returns before using it");
}

std::uint64_t next_context_var_id() noexcept {
  return context_var_counter.fetch_add(1, std::memory_order_relaxed) + 1;
}

void sleep_for_ns(std::int64_t delay_ns) {
  TaskCore* task = current_task_core();
  if (!task) {
    throw RuntimeError(
        "no running event loop: weft::sleep() suspends a task; call it from inside one");
  }
  if (delay_ns <= 0) {
    suspend();  // a bare yield: the other ready tasks run first
    return;
  }
  std::int64_t deadline = deadline_after(task->scheduler().now_ns(), delay_ns);
  if (deadline == kNeverNs) {
    // asyncio.sleep(inf): no timer (in virtual time the clock must not jump to "never"); the
    // task waits on a future nobody completes, until cancelled.
    Future<void> never;
    never.await();
    return;
  }
  suspend(SleepUntil{deadline});
}

}  // namespace detail

Runtime::Runtime(RunOptions options) {
  scheduler_ = std::make_shared<detail::Scheduler>(options);
  scheduler_->owner.store(this, std::memory_order_release);  // see runtime_of
  scheduler_->start();
}

Runtime::~Runtime() {
  if (!scheduler_->called_from_inside()) {
    scheduler_->shutdown();
    // Futures and tasks may outlive us (their scheduler does): their reports must not reach us.
    scheduler_->detach_owner();
    return;
  }
  // Destroyed by one of its own tasks or to_thread jobs: this thread cannot join itself, and
  // the caller must get on (its task has to end for the shutdown to finish). A thread of the
  // runtime's own does the shutdown and lets the scheduler go once the caller is done.
  scheduler_->owner.store(nullptr, std::memory_order_release);  // see runtime_of
  try {
    std::thread([scheduler = scheduler_] { scheduler->shutdown(); }).detach();
  } catch (const std::system_error& e) {
    // No thread to be had: the workers stay, and say so rather than vanish silently.
    warn(Warning{.category = "RuntimeWarning",
                 .message = std::string("a Runtime destroyed from inside itself could not start "
                                        "the thread that shuts it down (") +
                            e.what() + "); its workers keep running",
                 .file = {},
                 .line = 0});
  }
  // Futures and tasks may outlive us (their scheduler does): their reports must not reach us.
  scheduler_->detach_owner();
}

void Runtime::shutdown() {
  scheduler_->shutdown();
}
double Runtime::time() const noexcept {
  return scheduler_->time();
}
RuntimeMetrics Runtime::metrics() const {
  return scheduler_->metrics();
}

std::string Runtime::inspect_path() const {
  return scheduler_->inspect_path();
}

unsigned Runtime::workers() const noexcept {
  return scheduler_->worker_count();
}
void Runtime::set_task_factory(EagerTaskFactory) noexcept {
  scheduler_->set_eager_tasks(true);
}
void Runtime::set_task_factory(std::nullptr_t) noexcept {
  scheduler_->set_eager_tasks(false);
}
const EagerTaskFactory* Runtime::get_task_factory() const noexcept {
  return scheduler_->eager_tasks() ? &eager_task_factory : nullptr;
}

Runtime& get_running_loop() {
  return detail::runtime_of(detail::running_scheduler("get_running_loop"));
}

TaskRef current_task() {
  detail::running_scheduler("current_task");  // asyncio: no running event loop, RuntimeError
  return current_task_or_null();
}

TaskRef current_task_or_null() noexcept {
  detail::TaskCore* task = detail::current_task_core();
  if (!task) return TaskRef();
  return TaskRef(detail::Ref<detail::TaskCore>(task));
}

bool in_runtime() noexcept {
  return detail::running_scheduler_or_null() != nullptr;
}

std::vector<TaskRef> all_tasks() {
  auto& scheduler = detail::running_scheduler("all_tasks");
  std::vector<TaskRef> tasks;
  for (auto& task : scheduler.registry().snapshot()) tasks.emplace_back(std::move(task));
  return tasks;
}

}  // namespace weft
