// Internal: the engine behind weft::Runtime -- the workers, their queues, parking, timers and
// the virtual clock. See docs/architecture.md for the picture.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/reactor.hpp"
#include "loop/to_thread_pool.hpp"
#include "sched/blocked_worker_monitor.hpp"
#include "sched/injection_queue.hpp"
#include "sched/run_queue.hpp"
#include "sched/spawn_deque.hpp"
#include "sched/timer_queue.hpp"
#include "task/task_registry.hpp"
#include "weft/detail/pool_counters.hpp"
#include "weft/detail/spin_lock.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/runtime.hpp"
#include "weft/runtime_metrics.hpp"

namespace weft::detail {

class Scheduler;
class InspectServer;

// A worker's counters behind weft::RuntimeMetrics (architecture.md §17). Each is
// written by its worker's thread alone, with count_one (a relaxed load and store: no locked
// read-modify-write on the hot path), and read by any thread with a relaxed load (a recent
// value; nothing is ordered by it). Lines of their own, which no other thread writes.
struct alignas(64) WorkerCounters {
  std::atomic<std::uint64_t> steps{0};
  std::atomic<std::uint64_t> steals{0};
  std::atomic<std::uint64_t> steal_operations{0};
  std::atomic<std::uint64_t> parks{0};
  std::atomic<std::uint64_t> unparks{0};
  std::atomic<std::uint64_t> lifo_slot_hits{0};
  std::atomic<std::uint64_t> hand_offs{0};
  std::atomic<std::uint64_t> spawned{0};
  std::atomic<std::uint64_t> overflows{0};
  // Sleeps set here and sleeps ended here (a task's next step after one, on whichever worker
  // runs it): the runtime's timer waiters are the difference of the sums.
  std::atomic<std::uint64_t> sleeps_started{0};
  std::atomic<std::uint64_t> sleeps_ended{0};
  // Busy time in one word, so a reader needs no lock to see a consistent value: while parked,
  // 2 * busy ns; while awake, 2 * (busy ns - the monotonic time it woke) + 1.
  std::atomic<std::int64_t> busy_word{0};
  PoolCounters pools;  // the core's pools count this thread's allocations here
  // The most busy time any reader has reported: while the worker is awake a reader adds its own
  // clock, and the worker, parking, stores the time up to its own clock read, which may be a few
  // microseconds earlier. Readers only write it, on a line of its own, away from the worker's.
  alignas(64) mutable std::atomic<std::uint64_t> busy_reported{0};

  // The owner, waking / going to sleep at monotonic time `now_ns`.
  void start_busy(std::int64_t now_ns) noexcept;
  void stop_busy(std::int64_t now_ns) noexcept;
  // Any thread: busy ns up to now.
  std::uint64_t busy_ns() const noexcept;
};

class Worker {
 public:
  Worker(Scheduler& scheduler, unsigned index) : scheduler_(scheduler), index_(index) {}

  // How long a worker out of work searches before it parks, at most and at least (scheduler.cpp
  // says why; find_work adapts it between the two).
  static constexpr std::int64_t search_budget_max_ns = 10'000;
  static constexpr std::int64_t search_budget_min_ns = 2'500;
  void main();  // the worker thread's loop

  // Owner only: make `item` runnable here. `woken` items go to the LIFO slot (multi-worker).
  void push_local(Runnable* item, bool woken);
  // Owner only, multi-worker: a task just created here (see spawn_deque.hpp).
  void push_spawn(Runnable* item);
  void add_timer(std::int64_t deadline_ns, Ref<TaskCore> task, std::uint64_t token) {
    timers_.add(deadline_ns, std::move(task), token);
  }
  void add_timer(std::shared_ptr<TimerCallback> callback) { timers_.add(std::move(callback)); }
  unsigned index() const noexcept { return index_; }

  // ---- read by the blocked-worker monitor (any thread)
  // Bumped each time this worker looks for work: it stands still only inside one step (or
  // parked). Relaxed: a sample, compared with the previous one.
  std::uint64_t progress() const noexcept { return progress_.load(std::memory_order_relaxed); }
  // Relaxed for a look; seq_cst for the monitor's last look before it dozes (the Dekker pair
  // with leave_park(): see blocked_worker_monitor.cpp).
  bool is_parked(std::memory_order order = std::memory_order_relaxed) const noexcept {
    return park_state_.load(order) != awake;
  }
  // Something the other workers could run: a queued task, or a timer due at `now_ns`.
  bool holds_work_for_others(std::int64_t now_ns) const noexcept;
  // Any thread: this worker's figures for weft::RuntimeMetrics.
  WorkerMetrics metrics() const noexcept;
  // Owner only (see WorkerCounters): a task's sleep began / ended on this worker.
  void count_sleep_started() noexcept { count_one(counters_.sleeps_started); }
  void count_sleep_ended() noexcept { count_one(counters_.sleeps_ended); }
  // Debug mode: the repr of what this worker runs now ("" otherwise).
  std::string running_description() const;
  // Debug mode: the monotonic time the current step began (0 between steps). Relaxed: the
  // monitor's report says how long it has lasted; a stale value only misstates that by a step.
  std::int64_t step_began_ns() const noexcept {
    return step_began_ns_.load(std::memory_order_relaxed);
  }

 private:
  friend class Scheduler;
  Runnable* find_work();
  Runnable* pop_local();
  Runnable* steal(bool lifo_slots);
  void help_blocked_workers();
  // Fires the due timers, or queues them behind what is ready here (asyncio's pass order).
  void fire_due_timers();
  bool has_local_ready() const noexcept;
  void run_step(Runnable* item);
  // Debug mode's step: records what runs, times it, and reports a slow one (asyncio's
  // _run_once with loop.slow_callback_duration).
  void run_step_debug(Runnable* item);
  void count_steal(std::uint32_t tasks) noexcept {
    // A load and a store, as count_one: only we write our counters (see WorkerCounters).
    counters_.steals.store(counters_.steals.load(std::memory_order_relaxed) + tasks,
                           std::memory_order_relaxed);
    count_one(counters_.steal_operations);
  }
  // A poll of the reactor that does not block, if tasks wait on I/O and no thread is blocked in
  // it; the tasks it readies join our queue in one batch. Whether it readied any.
  bool poll_io_now();
  // Queues the tasks a poll readied (io_wakes_), waking one more worker if there are several.
  void flush_io_wakes();
  bool try_become_searching();
  void stop_searching_and_maybe_wake();
  // The word back to `awake`, then the monitor told, which may doze until a worker leaves park.
  void leave_park() noexcept;
  void park();
  bool work_visible_anywhere() const;

  Scheduler& scheduler_;
  unsigned index_;
  RunQueue queue_;
  SpawnDeque spawns_;  // new tasks, run newest first here and stolen oldest first
  // The LIFO slot: the task this worker just woke, run next while its caches are warm.
  alignas(64) std::atomic<Runnable*> lifo_slot_{nullptr};
  // The owner-only fields below start a line of their own: searching thieves read lifo_slot_,
  // and sharing its line made the owner's loop miss on its own counters (a quarter of
  // Worker::main's samples in eager skynet on 2 workers).
  alignas(64) unsigned lifo_streak_ = 0;  // owner only: LIFO runs in a row (capped)
  // Owner only: while a future's callback job wakes its waiters, the tasks woken are collected
  // here to be stepped at once, in order (Scheduler::begin_inline_wakes).
  bool collecting_inline_wakes_ = false;
  std::vector<Runnable*> inline_wakes_;
  // Owner only: while we poll the reactor, the tasks it readies are collected here and queued
  // in one batch (flush_io_wakes).
  bool collecting_io_wakes_ = false;
  std::vector<Runnable*> io_wakes_;
  std::uint64_t ticks_ = 0;  // owner only
  bool searching_ = false;   // owner only
  // Owner only: how long a search goes on before we park, adapted between the search budget's
  // floor and ceiling (find_work): shorter after a search that found nothing, longer after a
  // park that work ended within the ceiling (we should have searched on).
  std::int64_t search_budget_ns_ = search_budget_max_ns;
  // Owner only: whether a sched_yield of ours lately handed the core to another thread (see
  // find_work), and the searches until we try again when it did not.
  bool yield_gives_way_ = true;
  std::uint32_t searches_until_yield_probe_ = 0;
  // Owner only: whether our last poll at a search's start readied a task, and the searches
  // since one was skipped (find_work).
  bool search_poll_hit_ = true;
  std::uint32_t search_polls_skipped_ = 0;
  std::uint32_t steal_seed_ = 0;
  // Owner only: the task whose first step a hand-off asked for (TaskCore::hand_off_to), run
  // before anything else is looked for.
  Runnable* handed_off_ = nullptr;
  // Owner only, set for the life of main(): the reference to the scheduler that tasks made here
  // hold (Scheduler::reference_for_task), and this worker's block of task numbers.
  std::shared_ptr<Scheduler> anchor_;
  std::uint64_t next_number_ = 0;
  std::uint64_t end_number_ = 0;
  TimerQueue timers_;  // fired by us, or by the others while we are blocked (see timer_queue.hpp)
  // Written by us, read by the monitor; blocked_ set and cleared by the monitor (and cleared by
  // us), read by the others. Relaxed throughout: hints about who could use help, never a
  // guarantee -- what is taken from a blocked worker is taken through its queues' and timers'
  // own synchronisation.
  alignas(64) std::atomic<std::uint64_t> progress_{0};
  std::atomic<bool> blocked_{false};
  // Debug mode only: what this worker runs now, for the monitor's report.
  mutable SpinLock running_lock_;
  std::string running_;  // guarded by running_lock_
  std::atomic<std::int64_t> step_began_ns_{0};
  // The park word, our futex: `parked` while we park (or are about to); whoever takes us off
  // the parked list stores `woken` and wakes the futex; we store `awake` on the way out
  // (leave_park).
  enum : std::uint32_t { awake = 0, parked = 1, woken = 2 };
  alignas(64) std::atomic<std::uint32_t> park_state_{awake};
  // Parked as the reactor's blocking poller: whoever unparks us must also break the poll.
  // seq_cst, with park_state_'s `woken` store (Dekker): see Scheduler::unpark.
  std::atomic<bool> polling_{false};
  WorkerCounters counters_;
  std::thread thread_;
};

class Scheduler : public CallbackScheduler, public std::enable_shared_from_this<Scheduler> {
 public:
  explicit Scheduler(const RunOptions& options);
  ~Scheduler() override;

  void start();
  // Graceful end: refuse new work, cancel every task and wait for them, stop the to_thread
  // pool, run what is queued, stop and join the workers. Idempotent: a concurrent caller waits
  // for the first and returns. RuntimeError on one of the runtime's own threads, which it would
  // have to join (see called_from_inside).
  void shutdown();
  // Whether this thread is one of the runtime's own: a worker (so any of its tasks) or a
  // to_thread pool thread.
  bool called_from_inside() const noexcept;
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }
  // Cancels every task not yet done, once each (the first half of shutdown()'s teardown).
  void cancel_all_tasks();

  // ---- submission (any thread)
  void submit(Runnable* item);           // from a worker: local queue; otherwise injection
  void wake_task(Runnable* item);        // a woken task: like submit, LIFO slot on a worker
  void requeue_yielded(Runnable* item);  // sleep(0)/bare yield: tail of the local queue
  // A future's done callbacks (CallbackScheduler): from a worker always; from another thread
  // until the workers stop taking work (false: the future runs it inline instead).
  bool call_soon(std::function<void()>& callback) override;
  bool call_soon(Runnable* job) noexcept override;
  bool begin_inline_wakes() noexcept override;
  void run_inline_wakes() noexcept override;
  // Acquire: pairs with the Runtime's release stores of itself and of null (runtime_of).
  Runtime* loop() const noexcept override { return owner.load(std::memory_order_acquire); }
  // Runtime::call_soon (asyncio's call_soon_threadsafe): from another thread, refused (false)
  // once shutdown() has begun. Either it runs exactly once or it is refused.
  bool call_soon_threadsafe(std::function<void()>& callback);
  // The reference to this scheduler a new task's FutureCore holds. On a worker, a copy of the
  // worker's anchor: a shared_ptr with a control block of its own, whose deleter holds one
  // reference to the real one. Each task's count then moves on its creating worker's line,
  // where every task taking shared_from_this() contended for the one line two workers share
  // (28 % of eager skynet on 2 workers). Elsewhere shared_from_this().
  std::shared_ptr<Scheduler> reference_for_task();
  // asyncio's task counter (the N of a default "Task-N"). With 2+ workers a worker takes numbers
  // in blocks from the shared counter, so creating tasks contends on no line; numbers stay
  // unique, and increase in creation order per worker (and exactly, as asyncio's, on one).
  std::uint64_t next_task_number() noexcept;
  // Registers and starts a new task (start(): from here the task holds itself until done).
  void add_task(TaskCore& task);
  // add_task, but its first step runs at once on this worker's thread (eager_start): nested in
  // the creator's step, or, with continuation stealing, after the creator was handed off.
  void add_task_eagerly(TaskCore& task);
  // From a worker, after `creator`'s step ended in a hand-off: `creator` goes to this worker's
  // spawn deque (thieves may take it) and `child` runs here next.
  void hand_off(TaskCore* creator, TaskCore* child);
  // The task factory (RunOptions::eager_tasks, Runtime::set_task_factory). Relaxed: a setting,
  // ordered with nothing else; a create_task racing with set_task_factory may see either.
  bool eager_tasks() const noexcept { return eager_tasks_.load(std::memory_order_relaxed); }
  void set_eager_tasks(bool eager) noexcept {
    eager_tasks_.store(eager, std::memory_order_relaxed);
  }
  // add_task for a submission from outside the runtime; false (nothing added) once shutdown()
  // has begun. A submission that gets in is registered before shutdown() looks for tasks.
  bool try_add_external_task(TaskCore& task);

  // ---- time
  std::int64_t now_ns() const noexcept;
  double time() const noexcept { return static_cast<double>(now_ns()) * 1e-9; }
  bool virtual_time() const noexcept { return options_.virtual_time; }
  void add_timer(std::int64_t deadline_ns, Ref<TaskCore> task, std::uint64_t token);
  // call_at: from a task or a worker thread; the timer lives with this thread's worker.
  void call_at(std::shared_ptr<TimerCallback> callback);

  // ---- weft::RuntimeMetrics (any thread)
  RuntimeMetrics metrics();
  // From a worker: the task stepping next had been asleep (see WorkerCounters::sleeps_ended).
  void count_sleep_ended() noexcept;

  Reactor& reactor() noexcept { return *reactor_; }
  std::shared_ptr<Reactor> reactor_ptr() const noexcept { return reactor_; }
  TaskRegistry& registry() noexcept { return registry_; }
  ToThreadPool& to_thread_pool() noexcept { return to_thread_; }
  unsigned worker_count() const noexcept { return static_cast<unsigned>(workers_.size()); }
  Worker& worker(unsigned index) noexcept { return *workers_[index]; }
  bool debug() const noexcept { return debug_; }
  // asyncio's loop.slow_callback_duration: in debug mode a step (or callback) at least this
  // long is reported, and so is a worker blocked inside one step that long. Relaxed: a setting,
  // ordered with nothing; a step may still be judged by the value before a change.
  double slow_callback_duration() const noexcept {
    return slow_callback_duration_.load(std::memory_order_relaxed);
  }
  void set_slow_callback_duration(double seconds);
  // The same in nanoseconds (kNeverNs for inf).
  std::int64_t slow_callback_ns() const noexcept;
  // RunOptions::inspect or WEFT_INSPECT: the inspect server runs and tasks time their steps.
  bool inspecting() const noexcept { return inspect_; }
  // The inspect server's socket path ("" while none is served).
  std::string inspect_path() const;

  // ---- blocked workers (the monitor's side; see blocked_worker_monitor.hpp)
  void mark_blocked(Worker& worker) noexcept;
  void unmark_blocked(Worker& worker) noexcept;
  // Wakes a parked worker to take work from a blocked one, unless someone searches already.
  void wake_worker_to_help() noexcept;
  // The public handle, for get_running_loop(); null once a Runtime destroyed from inside itself
  // has let go. Acquire/release: a reader sees the Runtime it points to fully built.
  std::atomic<Runtime*> owner{nullptr};

  // The worker running on this thread if it belongs to this scheduler.
  Worker* local_worker() const noexcept;

  // ---- the loop's exception handler (exception_handler.cpp)
  void call_exception_handler(const ExceptionContext& context) noexcept override;
  void set_exception_handler(std::shared_ptr<const ExceptionHandler> handler);
  std::shared_ptr<const ExceptionHandler> exception_handler() const;
  // The Runtime is going away: reports from futures that outlive it go to the default log.
  void detach_owner() noexcept;

 private:
  friend class Worker;
  void notify_work_available();
  // A submission from a thread that is not a worker: refused (false) once `closed` is set;
  // otherwise queued before shutdown() gets past wait_for_external_submissions().
  template <class Push>
  bool submit_from_outside(const std::atomic<bool>& closed, Push push);
  void wait_for_external_submissions() const;
  // Wakes a parked worker, as a searcher, unless one searches already. After a handshake().
  void wake_one_if_nobody_searches();
  // The Dekker handshake between a submitter (push, then look for parked workers) and a parking
  // worker (register, then look for work): a seq_cst fence on each side means one of them
  // always sees the other's write. ThreadSanitizer does not model fences, so under TSan both
  // sides instead make an acq_rel read-modify-write of one shared word: the later RMW reads from
  // the earlier one, which gives the same guarantee in a form TSan can check.
  void handshake() noexcept {
#if defined(__SANITIZE_THREAD__)
    handshake_word_.fetch_add(1, std::memory_order_acq_rel);
#else
    std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
  }
  // With idle_mutex_ held: takes `which` (or, if null, the last worker to park) off the parked
  // list and counts it as searching; null if it is not there. The caller then unparks it.
  Worker* take_parked_locked(Worker* which);
  // Stores `woken` in a worker taken off the list and wakes its futex.
  void unpark(Worker& worker);
  // Virtual time, from a worker about to park (`self`, registered as parked): if every worker is
  // parked, only timers can make progress -- move the clock to the earliest deadline of any
  // worker and wake that worker (not `self`, which checks its own timers next).
  void jump_virtual_clock(Worker& self);
  // The to_thread pool ran dry: in virtual time, a parked worker re-checks whether the clock
  // may jump now (it parked without a deadline while a job was in flight).
  void on_to_thread_idle();

  RunOptions options_;
  std::atomic<bool> eager_tasks_;
  // Tasks created off the workers (foreign threads, to_thread jobs): several writers, so a
  // fetch_add (relaxed: a count, ordering nothing); never on a worker's path.
  std::atomic<std::uint64_t> remote_spawned_{0};
  bool debug_;                                       // RunOptions::debug or WEFT_DEBUG
  std::atomic<double> slow_callback_duration_{0.1};  // see slow_callback_duration()
  // RunOptions::inspect or WEFT_INSPECT; then the server, from start() to shutdown().
  bool inspect_;
  std::unique_ptr<InspectServer> inspect_server_;
  std::vector<std::unique_ptr<Worker>> workers_;
  InjectionQueue injection_;
  TaskRegistry registry_;
  ToThreadPool to_thread_;
  std::shared_ptr<Reactor> reactor_;  // shared with the IoHandles, which may outlive us

  // Parking (Go's protocol): workers looking for work, and the parked ones.
  alignas(64) std::atomic<std::uint32_t> searching_{0};
  alignas(64) std::atomic<std::uint32_t> handshake_word_{0};  // see handshake()
  alignas(64) std::atomic<std::uint32_t> parked_count_{0};
  // Workers marked blocked. Read on every look for work; relaxed: a hint (see Worker::blocked_).
  alignas(64) std::atomic<std::uint32_t> blocked_workers_{0};
  std::mutex idle_mutex_;
  std::vector<Worker*> parked_workers_;  // guarded by idle_mutex_

  // A line of their own: a foreign thread reads closed_ and writes external_submissions_ for
  // every task or callback it submits; parking workers write the line above, idle ones read
  // stopping_. shutdown() sets the three flags in this order, each after the last.
  alignas(64) std::atomic<bool> closed_{false};  // no new tasks or call_soon from outside
  std::atomic<bool> callbacks_closed_{false};    // no done callbacks from outside either
  // External submissions between their check of one of the flags above and their push.
  std::atomic<std::uint32_t> external_submissions_{0};
  alignas(64) std::atomic<bool> stopping_{false};  // workers exit when idle and nothing is queued
  std::mutex shutdown_mutex_;  // held by the one shutdown() at work; others wait on it
  bool shut_down_ = false;     // guarded by shutdown_mutex_
  // The tasks the teardown cancelled (run()'s main-done callback, shutdown()): those that end
  // with an exception are reported at the end of it, as asyncio's _cancel_all_tasks does.
  std::mutex torn_down_mutex_;
  std::vector<Ref<TaskCore>> torn_down_;  // guarded by torn_down_mutex_
  void remember_torn_down(const std::vector<Ref<TaskCore>>& tasks);
  void report_torn_down() noexcept;
  std::int64_t start_ns_;
  std::atomic<std::int64_t> virtual_now_ns_{0};
  std::unique_ptr<BlockedWorkerMonitor> monitor_;  // null when disabled

  // Guards handler_, and `owner` against detach_owner() for the reports that read it.
  mutable std::mutex handler_mutex_;
  std::shared_ptr<const ExceptionHandler> handler_;  // null: the default handler
};

// A callback run by the runtime threw `error`: reports it to `scheduler`'s exception handler as
// asyncio's Handle._run does ("Exception in callback <what>", the handle's repr). Never throws.
void report_callback_exception(Scheduler& scheduler, const char* what, std::string handle,
                               std::exception_ptr error) noexcept;

// The scheduler whose worker runs on this thread, or null. A fiber-safe read (architecture.md §3).
Scheduler* thread_scheduler() noexcept;

// A task's future is bound to its scheduler (TaskCore's constructor): the task keeps no second
// reference to it.
inline Scheduler& TaskCore::scheduler() noexcept {
  return static_cast<Scheduler&>(*FutureCore::scheduler());
}

}  // namespace weft::detail
