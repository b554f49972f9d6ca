// The public face of the runtime: Runtime, the asyncio free functions, and the bridge the
// public templates use to reach the scheduler.
#include "weft/runtime.hpp"

#include <atomic>
#include <string>

#include "scheduler.hpp"
#include "weft/coroutine.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/errors.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/to_thread.hpp"

namespace weft {

namespace detail {
namespace {

// Outside tasks, each thread has a context of its own (contextvars' per-thread context).
thread_local ContextPtr tls_context;

std::atomic<std::uint64_t> task_counter{0};
std::atomic<std::uint64_t> context_var_counter{0};

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

void submit_task(Scheduler& scheduler, std::shared_ptr<TaskCore> task, bool external) {
  if (!external && running_scheduler_or_null()) {
    scheduler.add_task(std::move(task));  // from inside: accepted even while shutting down
    return;
  }
  if (!scheduler.try_add_external_task(std::move(task))) {
    throw RuntimeError(
        "the runtime is shutting down and accepts no new tasks from outside; submit before "
        "shutdown() or create tasks from inside the runtime");
  }
}

std::uint64_t next_task_number() noexcept {
  // Relaxed: only uniqueness matters (asyncio's itertools.count).
  return task_counter.fetch_add(1, std::memory_order_relaxed) + 1;
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
  return *scheduler.owner;
}

void cancel_all_tasks(Scheduler& scheduler) {
  scheduler.cancel_all_tasks();
}

ContextPtr current_context() noexcept {
  if (TaskCore* task = current_task_core()) return task->context();
  return tls_context;
}

void set_current_context(ContextPtr context) noexcept {
  if (TaskCore* task = current_task_core()) {
    task->set_context(std::move(context));
  } else {
    tls_context = std::move(context);
  }
}

void run_in_context(const ContextPtr& context, const std::function<void()>& job) {
  ContextPtr saved = std::exchange(tls_context, context);
  job();
  tls_context = std::move(saved);
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
  std::int64_t deadline = task->scheduler().now_ns() + delay_ns;
  suspend(SleepUntil{deadline});
}

}  // namespace detail

Runtime::Runtime(RunOptions options) {
  scheduler_ = std::make_shared<detail::Scheduler>(options);
  scheduler_->owner = this;
  scheduler_->start();
}

Runtime::~Runtime() {
  try {
    shutdown();
  } catch (...) {
    // Destroyed from inside itself: nothing sane to do but leave the workers to the process.
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
unsigned Runtime::workers() const noexcept {
  return scheduler_->worker_count();
}

Runtime& get_running_loop() {
  return detail::runtime_of(detail::running_scheduler("get_running_loop"));
}

TaskRef current_task() {
  detail::TaskCore* task = detail::current_task_core();
  if (!task) return TaskRef();
  return TaskRef(std::static_pointer_cast<detail::TaskCore>(task->shared_from_this()));
}

std::vector<TaskRef> all_tasks() {
  auto& scheduler = detail::running_scheduler("all_tasks");
  std::vector<TaskRef> tasks;
  for (auto& task : scheduler.registry().snapshot()) tasks.emplace_back(std::move(task));
  return tasks;
}

}  // namespace weft
