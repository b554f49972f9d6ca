// weft::Runtime -- asyncio's event loop, on N worker threads that steal work from each other.
//
//   weft::run(main)                       // the usual entry point: see run.hpp
//   weft::Runner runner;                  // several mains on one runtime, in turn: run.hpp
//   weft::Runtime rt({.workers = 4});     // or embed one beside your own threads:
//   auto f = weft::run_coroutine_threadsafe(weft::coro(work), rt);
//   f.result();                            // the runtime shuts down gracefully when destroyed
//
// fork(): a child may run a runtime of its own (weft::run), even one forked while the parent's
// runtime was busy (prefork servers); the parent's runtime does not exist in the child.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "weft/context_var.hpp"
#include "weft/exception_handler.hpp"
#include "weft/runtime_metrics.hpp"

namespace weft {

struct RunOptions {
  unsigned workers = 0;  // worker threads; 0 = one per core. 1 = asyncio's exact FIFO order.
  // Jump the clock to the next timer whenever every task waits on one: sleeps finish at once,
  // deterministically (for tests and examples).
  bool virtual_time = false;
  std::size_t to_thread_threads = 0;  // bound of the to_thread pool; 0 = min(32, cores + 4)
  // A worker inside one step for longer than this many seconds (a blocking call in a task, a long
  // computation) has its queued tasks and due timers run by the other workers until it returns,
  // as Go's sysmon retakes a blocked thread's processor. 0 or inf: never (NaN or < 0: ValueError).
  double blocked_worker_after = 0.01;
  // asyncio's debug mode (PYTHONASYNCIODEBUG; here also WEFT_DEBUG=1): a step or callback
  // longer than slow_callback_duration() is reported, and so is a worker blocked that long,
  // with the task that blocked it; tasks keep their creation site for the reports about them.
  bool debug = false;
  // asyncio's loop.set_task_factory(asyncio.eager_task_factory) from the start: create_task
  // (and gather, TaskGroup, ensure_future, which call it) runs each new task's first step at
  // once, inside the call, unless told eager_start=false. See set_task_factory.
  bool eager_tasks = false;
  // With several workers: an eager create_task suspends its caller instead of nesting the new
  // task's first step inside it -- the caller waits in this worker's queue, where idle workers
  // steal it, while this worker runs the new task (continuation stealing, as Cilk). A fan-out
  // then spreads over the workers at once; the price: create_task becomes a point where the
  // caller may move to another thread (as any await is) and returns only once a worker got to it,
  // maybe after the new task's first step and others. With one worker it changes nothing.
  bool continuation_stealing = false;
  // epoll instances the I/O reactor spreads fds over (fd % io_shards). One is right until a
  // single poller's dispatch becomes the bottleneck -- tens of thousands of ready events per
  // millisecond on many cores; then raise it towards workers / 8 (architecture.md §15).
  unsigned io_shards = 1;
  // A live view of the running process, as `python -m asyncio ps PID` (here also WEFT_INSPECT=1):
  // a thread of its own serves a Unix socket only this user may open, for `tools/weft ps PID`,
  // `pstree`, `top` and `metrics` (architecture.md §18). Off: no socket, no thread, no clock read.
  //   weft::run(main, {.inspect = true});   // then, in a shell: tools/weft ps <pid>
  bool inspect = false;
};

// asyncio.eager_task_factory: give it to Runtime::set_task_factory (or set
// RunOptions::eager_tasks) and every task starts eagerly (create_task's eager_start=True).
struct EagerTaskFactory {
  friend bool operator==(EagerTaskFactory, EagerTaskFactory) = default;
};
inline constexpr EagerTaskFactory eager_task_factory{};

namespace detail {
class Scheduler;
struct TimerCallback;
}  // namespace detail

// asyncio.TimerHandle: a callback scheduled with call_later / call_at.
class TimerHandle {
 public:
  TimerHandle() = default;
  explicit TimerHandle(std::shared_ptr<detail::TimerCallback> timer) : timer_(std::move(timer)) {}
  void cancel() noexcept;
  bool cancelled() const noexcept;
  double when() const noexcept;  // on the loop's clock

 private:
  std::shared_ptr<detail::TimerCallback> timer_;
};

class Runtime {
 public:
  explicit Runtime(RunOptions options = {});
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;
  // Shuts down gracefully (see shutdown()).
  ~Runtime();

  // Refuses new work (RuntimeError), cancels the tasks still running and waits for them, stops
  // the to_thread pool and joins the workers. Nothing submitted before it began is lost: every
  // task ends done or cancelled. Idempotent; not callable from inside the runtime.
  void shutdown();

  // The loop's clock: seconds since the runtime started (virtual seconds in virtual time).
  double time() const noexcept;
  unsigned workers() const noexcept;
  // What the workers have done and what waits now (weft/runtime_metrics.hpp, Tokio's
  // RuntimeMetrics). Thread-safe; from a task: weft::get_running_loop().metrics().
  RuntimeMetrics metrics() const;

  // Runs `callback` soon on a worker. Thread-safe (asyncio's call_soon_threadsafe). It runs in
  // `context` (call_soon(cb, context=ctx)), by default in a copy of the caller's Context, so
  // the variables it sets stay there.
  void call_soon(std::function<void()> callback);
  void call_soon(std::function<void()> callback, Context context);
  // Runs `callback` on this worker after `delay` seconds / at loop time `when`, in `context` or
  // a copy of the caller's. From inside the runtime (a task or a callback).
  TimerHandle call_later(double delay, std::function<void()> callback);
  TimerHandle call_later(double delay, std::function<void()> callback, Context context);
  TimerHandle call_at(double when, std::function<void()> callback);
  TimerHandle call_at(double when, std::function<void()> callback, Context context);

  // asyncio's loop.set_task_factory(eager_task_factory): the tasks created from now on start
  // eagerly unless told eager_start=false; set_task_factory(nullptr) restores the default
  // (lazy) factory. Thread-safe; a create_task racing with it sees either factory.
  //   weft::get_running_loop().set_task_factory(weft::eager_task_factory);
  void set_task_factory(EagerTaskFactory factory) noexcept;
  void set_task_factory(std::nullptr_t) noexcept;
  // loop.get_task_factory(): &eager_task_factory while it is set, else null (asyncio's None).
  const EagerTaskFactory* get_task_factory() const noexcept;

  // Where RunOptions::inspect serves ($XDG_RUNTIME_DIR/weft/<pid>.sock, else
  // /tmp/weft-<uid>/<pid>.sock); "" while nothing is served (inspect off, or after shutdown()).
  // Not concurrently with shutdown().
  std::string inspect_path() const;
  // asyncio's loop.get_debug(): RunOptions::debug (or WEFT_DEBUG=1).
  bool get_debug() const noexcept;
  // asyncio's loop.slow_callback_duration (seconds, default 0.1): in debug mode, a step or
  // callback at least this long is reported ("Executing <Task ...> took 0.123 seconds"), as is
  // a worker blocked inside one step this long. inf: never. ValueError for NaN or < 0.
  // Thread-safe.
  double slow_callback_duration() const noexcept;
  void set_slow_callback_duration(double seconds);
  // loop.is_closed(): shutdown() has begun; the runtime takes no more work from outside.
  bool is_closed() const noexcept;

  // The loop's exception handler (see exception_handler.hpp). A callback that throws is
  // reported to it and the runtime goes on. An empty handler restores the default. Thread-safe.
  void set_exception_handler(ExceptionHandler handler);
  ExceptionHandler get_exception_handler() const;  // empty while the default is in use
  // Reports `context` to the handler (or the default one). Never throws, whatever the handler
  // does: a handler that throws is itself reported by the default handler.
  void call_exception_handler(const ExceptionContext& context) noexcept;
  // Logs `context` through the warning sink, category "ERROR" (see format_exception_context).
  void default_exception_handler(const ExceptionContext& context);

  detail::Scheduler& scheduler() const noexcept { return *scheduler_; }

 private:
  std::shared_ptr<detail::Scheduler> scheduler_;
};

// The runtime of the running task (asyncio.get_running_loop). RuntimeError outside one.
Runtime& get_running_loop();

}  // namespace weft
