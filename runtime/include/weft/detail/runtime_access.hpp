// Internal: what the public templates need from the runtime, without its machinery.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "weft/detail/task_core.hpp"

namespace weft {
class Runtime;
}

namespace weft::detail {

// The scheduler of the running task or worker thread; RuntimeError("no running event loop")
// naming `what` when there is none.
Scheduler& running_scheduler(const char* what);
Scheduler* running_scheduler_or_null() noexcept;
// Registers and schedules a new task. `external` submissions (from outside the runtime) are
// refused once shutdown has begun.
void submit_task(Scheduler& scheduler, TaskCore& task, bool external);
// Registers a new task and runs its first step at once, here (create_task's eager_start); then it
// is scheduled as any task. Scheduled as usual when called outside a worker.
void submit_task_eagerly(Scheduler& scheduler, TaskCore& task);
// Whether create_task starts tasks eagerly when not told (the runtime's task factory).
bool eager_tasks_by_default(Scheduler& scheduler) noexcept;
// The number of the next task without a name of its own (its default name is "Task-<number>").
std::uint64_t next_task_number() noexcept;
// Takes `count` numbers at once (a worker's block: Scheduler::next_task_number); the first.
std::uint64_t reserve_task_numbers(std::uint64_t count) noexcept;
std::int64_t scheduler_now_ns(Scheduler& scheduler) noexcept;
std::shared_ptr<CallbackScheduler> as_callback_scheduler(Scheduler& scheduler);
// Runs `job` on the runtime's to_thread pool.
void submit_blocking(Scheduler& scheduler, std::function<void()> job);
Runtime& runtime_of(Scheduler& scheduler);
// Cancels every task of the runtime not yet done, once each (as its shutdown will).
void cancel_all_tasks(Scheduler& scheduler);
// The running task, if the code running is its own body (or a coroutine it awaits inline), so
// that it may wait with AwaitWakeUp; null elsewhere (off a task, or in a generator or a
// coroutine driven by hand, whose driver would get the yield).
TaskCore* direct_wait_task() noexcept;

}  // namespace weft::detail
