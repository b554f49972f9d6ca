// The scheduler. Invariants, each kept in one place:
// - A runnable is in at most one queue (the task state word decides who enqueues; see
//   task/task_state.hpp).
// - A worker with nothing to do parks only after registering as parked, fencing, and
//   re-checking every queue; a submitter fences after its push and wakes a parked worker only
//   when nobody is searching. One of the two always sees the other (Go's protocol in
//   runtime/proc.go), so no work is stranded while a worker sleeps.
// - A submitter that sees a searcher leaves its push to it. The last searcher to stop (having
//   found work) fences and re-checks the queues, and wakes a parked worker if work is still
//   there (see stop_searching_and_maybe_wake); a searcher that gives up parks by the protocol
//   above. Either way a push left to the searchers is seen by one of them.
// - At most half of the busy workers search (steal) at once; a searcher that found work and
//   still sees more wakes another, so work spreads without a thundering herd.
#include "sched/scheduler.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <sched.h>

#include "inspect/inspect_server.hpp"
#include "sched/futex.hpp"
#include "weft/detail/block_pool.hpp"
#include "weft/detail/blocking_wait.hpp"
#include "weft/detail/fiber_thread_local.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/stack_pool.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/errors.hpp"
#include "weft/warnings.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define WEFT_CPU_RELAX() _mm_pause()
#else
#define WEFT_CPU_RELAX() std::this_thread::yield()
#endif

namespace weft::detail {
namespace {

thread_local Worker* tls_worker = nullptr;
thread_local Scheduler* tls_scheduler = nullptr;

// A task's fiber may read these before and after it migrated to another worker thread
// (architecture.md §3).
WEFT_FIBER_SAFE_TLS_LOAD(load_tls_worker, Worker*, tls_worker)

constexpr unsigned lifo_cap = 3;             // LIFO-slot runs in a row before the queue gets a turn
constexpr unsigned injection_interval = 61;  // check the injection queue this often (fairness)
constexpr unsigned fifo_interval = 31;       // the FIFO queue before the spawn deque this often
// How long a worker out of work searches before it parks (Worker::search_budget_max_ns): a few
// times what waking a parked thread costs, so that a worker that would be woken again soon stays
// awake, and no longer (docs/performance.md has the measurements). That pays where work comes
// from other workers a few microseconds apart (fork-join); where it comes from sockets, tens of
// microseconds apart, every search runs dry and its budget is CPU thrown away. So each worker
// adapts its own: a search that found nothing halves it, down to search_budget_min_ns (about
// what the first passes take anyway); a park that work ended within the ceiling doubles it.
// Between its passes over the queues a searcher first spins briefly (32, then 64 pauses), then
// calls sched_yield: when the machine has no spare core, the yield hands the CPU to whoever
// waits for it -- often the very thread about to make the next task -- where pausing would burn
// it until the searcher parks and must be woken with a futex. On an idle core the yield returns
// at once: a system call for nothing, ten of them a search. So a yield that returns within
// yield_gave_way_ns says nobody wanted the core; the worker pauses instead, and tries one yield
// again every yield_probe_interval searches.
constexpr int search_pause_rounds = 2;
constexpr std::int64_t yield_gave_way_ns = 3'000;
constexpr std::uint32_t yield_probe_interval = 64;
// A search starts with a non-blocking poll of the reactor, as Go's findRunnable polls before it
// steals -- while such polls find something. On a connection that waits for its peer's reply
// they never do (the reply is tens of microseconds away, and the park's blocking poll gets it),
// so after a poll that readied nothing only every search_poll_probe_interval-th search polls.
constexpr std::uint32_t search_poll_probe_interval = 8;
// From this pass on, thieves also take the LIFO slots (see steal()): a few microseconds in.
constexpr int search_lifo_round = 3;

// One scheduled callback (asyncio's call_soon handle). From the block pool: gather and every
// done callback schedule one per completion.
struct CallbackItem final : Runnable, PooledObject {
  explicit CallbackItem(std::function<void()> fn) : callback(std::move(fn)) {}
  void run() override {
    std::unique_ptr<CallbackItem> self(this);
    try {
      callback();
    } catch (...) {
      // Reported, and the worker goes on (asyncio's Handle._run). Done callbacks catch their
      // own (future_core.cpp), so what lands here came from Runtime::call_soon.
      if (Scheduler* scheduler = thread_scheduler()) {
        report_callback_exception(*scheduler, "scheduled by call_soon",
                                  "<Handle scheduled by call_soon>", std::current_exception());
      }
    }
  }
  std::string describe() const override { return "<Handle scheduled by call_soon>"; }
  std::function<void()> callback;
};

}  // namespace

WEFT_FIBER_SAFE_TLS_LOAD(thread_scheduler, Scheduler*, tls_scheduler)

// ---------------------------------------------------------------------------------- Scheduler

namespace {

// asyncio's rule for PYTHONASYNCIODEBUG: any non-empty value turns debug mode on.
bool debug_from_environment() {
  const char* value = std::getenv("WEFT_DEBUG");
  return value && *value;
}

std::int64_t blocked_worker_threshold_ns(double seconds) {
  if (std::isnan(seconds) || seconds < 0) {
    throw ValueError(
        "RunOptions::blocked_worker_after must be >= 0 seconds (0 turns the "
        "takeover of blocked workers off), not " +
        std::to_string(seconds));
  }
  return seconds == 0 ? kNeverNs : seconds_to_ns(seconds, "RunOptions::blocked_worker_after");
}

// WEFT_INSPECT: on for any non-empty value but "0".
bool inspect_from_environment() {
  const char* value = std::getenv("WEFT_INSPECT");
  return value && *value && std::string_view(value) != "0";
}

}  // namespace

Scheduler::Scheduler(const RunOptions& options)
    : options_(options),
      eager_tasks_(options.eager_tasks),
      debug_(options.debug || debug_from_environment()),
      inspect_(options.inspect || inspect_from_environment()),
      to_thread_(options.to_thread_threads
                     ? options.to_thread_threads
                     : std::min<std::size_t>(32, std::thread::hardware_concurrency() + 4),
                 [this] { on_to_thread_idle(); }),
      reactor_(std::make_shared<Reactor>(options.io_shards)),
      start_ns_(monotonic_now_ns()) {
  unsigned n =
      options.workers ? options.workers : std::max(1u, std::thread::hardware_concurrency());
  options_.workers = n;
  for (unsigned i = 0; i < n; ++i) workers_.push_back(std::make_unique<Worker>(*this, i));
  // With one worker nobody could take over; the monitor then only reports, in debug mode --
  // where it runs even with the takeover off, to name a blocked worker.
  std::int64_t takeover = blocked_worker_threshold_ns(options.blocked_worker_after);
  if (n == 1) takeover = kNeverNs;
  if (takeover != kNeverNs || debug_) {
    monitor_ = std::make_unique<BlockedWorkerMonitor>(*this, takeover, debug_);
  }
}

void Scheduler::set_slow_callback_duration(double seconds) {
  // asyncio takes any float here; a negative or NaN threshold can only be a mistake.
  if (std::isnan(seconds) || seconds < 0) {
    throw ValueError("slow_callback_duration must be a non-negative number of seconds, got " +
                     std::to_string(seconds));
  }
  slow_callback_duration_.store(seconds, std::memory_order_relaxed);  // see the getter
}

std::int64_t Scheduler::slow_callback_ns() const noexcept {
  const double seconds = slow_callback_duration();
  return seconds >= static_cast<double>(kFarNs) * 1e-9 ? kNeverNs
                                                       : static_cast<std::int64_t>(seconds * 1e9);
}

Scheduler::~Scheduler() {
  inspect_server_.reset();  // before the workers and the registry it reads (shutdown() did, too)
}

void Scheduler::start() {
  for (auto& worker : workers_) {
    Worker* w = worker.get();
    w->thread_ = std::thread([w] { w->main(); });
  }
  if (monitor_) monitor_->start();
  if (inspect_) inspect_server_ = InspectServer::start(*this);  // null if it could not serve
}

std::string Scheduler::inspect_path() const {
  return inspect_server_ ? inspect_server_->path() : std::string();
}

void Scheduler::mark_blocked(Worker& worker) noexcept {
  // Relaxed, like every use of the mark (see Worker::blocked_); the exchange keeps the count
  // exact when the monitor and the worker clear it at once.
  if (!worker.blocked_.exchange(true, std::memory_order_relaxed)) {
    blocked_workers_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Scheduler::unmark_blocked(Worker& worker) noexcept {
  // Relaxed load first: the common case (not marked) writes nothing.
  if (worker.blocked_.load(std::memory_order_relaxed) &&
      worker.blocked_.exchange(false, std::memory_order_relaxed)) {
    blocked_workers_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Scheduler::wake_worker_to_help() noexcept {
  handshake();  // as a submitter does: the blocked worker's queue holds work nobody was told of
  wake_one_if_nobody_searches();
}

Worker* Scheduler::local_worker() const noexcept {
  Worker* w = load_tls_worker();
  return w && &w->scheduler_ == this ? w : nullptr;
}

std::int64_t Scheduler::now_ns() const noexcept {
  if (options_.virtual_time) return virtual_now_ns_.load(std::memory_order_acquire);
  return monotonic_now_ns() - start_ns_;
}

void Scheduler::submit(Runnable* item) {
  if (Worker* w = local_worker()) {
    w->push_local(item, false);
    return;
  }
  injection_.push(item);
  notify_work_available();
}

void Scheduler::wake_task(Runnable* item) {
  if (Worker* w = local_worker()) {
    if (w->collecting_io_wakes_) {
      try {
        w->io_wakes_.push_back(item);  // queued in one batch after the poll
        return;
      } catch (...) {
        // No memory to collect it: queue it as usual.
      }
    }
    if (w->collecting_inline_wakes_) {
      try {
        w->inline_wakes_.push_back(item);  // stepped by run_inline_wakes, in this order
        return;
      } catch (...) {
        // No memory to collect it: queue it as usual.
      }
    }
    // With one worker the LIFO slot would reorder asyncio's FIFO; keep it for many workers.
    w->push_local(item, workers_.size() > 1);
    return;
  }
  injection_.push(item);
  notify_work_available();
}

void Scheduler::requeue_yielded(Runnable* item) {
  Worker* w = local_worker();
  assert(w && "a task step always ends on a worker");
  w->push_local(item, false);
}

template <class Push>
bool Scheduler::submit_from_outside(const std::atomic<bool>& closed, Push push) {
  // seq_cst, against shutdown()'s seq_cst store of the flag and load of this count (Dekker):
  // either we see the flag, or shutdown() sees us here and waits until our push is done. A
  // plain check-then-push let a callback accepted here land after the workers had exited.
  external_submissions_.fetch_add(1, std::memory_order_seq_cst);
  if (closed.load(std::memory_order_seq_cst)) {
    // Relaxed: we published nothing.
    external_submissions_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }
  push();
  // Release: shutdown(), reading zero with acquire, sees what we queued or registered.
  external_submissions_.fetch_sub(1, std::memory_order_release);
  return true;
}

void Scheduler::wait_for_external_submissions() const {
  // seq_cst for the handshake in submit_from_outside; a zero also acquires what they queued.
  while (external_submissions_.load(std::memory_order_seq_cst) != 0) std::this_thread::yield();
}

bool Scheduler::call_soon(std::function<void()>& callback) {
  if (local_worker()) {
    // A worker runs what it queues before it exits, whatever the stage of shutdown.
    submit(new CallbackItem(std::move(callback)));
    return true;
  }
  return submit_from_outside(callbacks_closed_,
                             [&] { submit(new CallbackItem(std::move(callback))); });
}

bool Scheduler::call_soon(Runnable* job) noexcept {
  if (local_worker()) {
    submit(job);
    return true;
  }
  return submit_from_outside(callbacks_closed_, [&] { submit(job); });
}

bool Scheduler::begin_inline_wakes() noexcept {
  Worker* w = local_worker();
  // Only a worker between steps may step a task: not another thread, not inside a task's step.
  // In debug mode neither: each woken task takes a step of its own, timed as asyncio times
  // each handle (run_step_debug).
  if (!w || current_task_core() != nullptr || debug_) return false;
  w->collecting_inline_wakes_ = true;
  return true;
}

void Scheduler::run_inline_wakes() noexcept {
  Worker* w = local_worker();
  w->collecting_inline_wakes_ = false;
  // Each collected task was moved idle -> scheduled by its wake-up and is in no queue: this
  // worker owns it exactly as if it had popped it (architecture.md §7). Stepped in wake order.
  std::vector<Runnable*> woken;
  woken.swap(w->inline_wakes_);
  for (Runnable* item : woken) {
    count_one(w->counters_.steps);
    item->run();
  }
  woken.clear();
  if (w->inline_wakes_.empty()) w->inline_wakes_.swap(woken);  // keep the capacity
}

bool Scheduler::call_soon_threadsafe(std::function<void()>& callback) {
  if (local_worker()) {
    submit(new CallbackItem(std::move(callback)));
    return true;
  }
  return submit_from_outside(closed_, [&] { submit(new CallbackItem(std::move(callback))); });
}

namespace {

// A foreign thread's registry shard: its id hashed once per thread, not once per submission
// (std::hash of a thread id hashes its bytes: 36 instructions of each foreign_submit task).
unsigned foreign_thread_shard() noexcept {
  thread_local const unsigned shard =
      static_cast<unsigned>(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  return shard;
}

}  // namespace

void Scheduler::add_task(TaskCore& task) {
  Worker* w = local_worker();
  registry_.add(task, w ? w->index() : foreign_thread_shard());
  TaskCore* raw = &task;
  raw->start();  // the task now owns a reference to itself until it is done
  // With several workers a new task goes to the creator's spawn deque: run here newest first,
  // a fan-out such as skynet goes depth first, with few tasks suspended at once and their
  // stacks reused warm, while thieves take the oldest spawns. With one worker, asyncio's FIFO
  // order is the contract.
  if (w) {
    count_one(w->counters_.spawned);
  } else {
    remote_spawned_.fetch_add(1, std::memory_order_relaxed);  // relaxed: see remote_spawned_
  }
  if (w && workers_.size() > 1) {
    w->push_spawn(raw);
    return;
  }
  submit(raw);
}

std::shared_ptr<Scheduler> Scheduler::reference_for_task() {
  if (Worker* w = local_worker(); w && w->anchor_) return w->anchor_;
  return shared_from_this();
}

std::uint64_t Scheduler::next_task_number() noexcept {
  constexpr std::uint64_t block = 1024;
  Worker* w = workers_.size() > 1 ? local_worker() : nullptr;
  if (!w) return detail::next_task_number();
  if (w->next_number_ == w->end_number_) {
    w->next_number_ = reserve_task_numbers(block);
    w->end_number_ = w->next_number_ + block;
  }
  return w->next_number_++;
}

void Scheduler::add_task_eagerly(TaskCore& task) {
  Worker* w = local_worker();
  if (!w) {  // not on a worker (a callback run inline off the runtime): no step can run here
    add_task(task);
    return;
  }
  registry_.add(task, w->index());
  task.start();
  count_one(w->counters_.spawned);
  TaskCore* creator = current_task_core();
  if (options_.continuation_stealing && workers_.size() > 1 && creator && creator->can_hand_off()) {
    creator->hand_off_to(task);  // back once a worker resumed us, here or elsewhere
    return;
  }
  // The task is in no queue yet (scheduled, popped by nobody): this thread takes it as a worker
  // takes a popped task, and its step ends as any step does -- re-queued, waiting, or done.
  count_one(w->counters_.steps);
  task.run_eagerly();
}

void Scheduler::hand_off(TaskCore* creator, TaskCore* child) {
  Worker* w = local_worker();
  assert(w && "a hand-off ends a step, on the worker that ran it");
  // The child first: it is `scheduled` and in no queue, as a popped task is. Only one slot; a
  // second hand-off before the worker took the first (inline wakes stepping several tasks)
  // queues its child as a plain spawn.
  if (!w->handed_off_) {
    w->handed_off_ = child;
  } else {
    w->push_spawn(child);
  }
  w->push_spawn(creator);  // after this, another worker may be stepping the creator
}

bool Scheduler::try_add_external_task(TaskCore& task) {
  // Registered before shutdown() looks for tasks to cancel, or refused.
  return submit_from_outside(closed_, [&] { add_task(task); });
}

void Scheduler::add_timer(std::int64_t deadline_ns, Ref<TaskCore> task, std::uint64_t token) {
  Worker* w = local_worker();
  assert(w && "timers are set by the worker stepping the task");
  w->add_timer(deadline_ns, std::move(task), token);
  w->count_sleep_started();
}

void Scheduler::call_at(std::shared_ptr<TimerCallback> callback) {
  Worker* w = local_worker();
  if (!w) {
    throw RuntimeError("call_at/call_later must be called from inside the runtime (a task)");
  }
  if (callback->when_ns == kNeverNs) return;  // never due: kept out of the heap
  w->add_timer(std::move(callback));
}

void Scheduler::notify_work_available() {
  if (workers_.size() == 1 && local_worker()) return;  // the only worker is awake: it is us
  // Orders our push before the loads below, against the parking worker's handshake between its
  // registration and its re-check (see the invariants at the top).
  handshake();
  wake_one_if_nobody_searches();
}

void Scheduler::wake_one_if_nobody_searches() {
  // Relaxed loads, after the caller's handshake: the fences order them (see the invariants).
  // The parked count first: it changes seldom, so its line stays cached in a submitter's core,
  // while the searching count changes each time a worker runs dry.
  if (parked_count_.load(std::memory_order_relaxed) == 0) return;
  if (searching_.load(std::memory_order_relaxed) != 0) return;  // a searcher will find it
  Worker* w;
  {
    std::lock_guard lock(idle_mutex_);
    w = take_parked_locked(nullptr);
  }
  if (w) unpark(*w);
}

Worker* Scheduler::take_parked_locked(Worker* which) {
  auto it = which ? std::find(parked_workers_.begin(), parked_workers_.end(), which)
                  : parked_workers_.end() - (parked_workers_.empty() ? 0 : 1);
  if (!which && parked_workers_.size() > 1 && (*it)->polling_.load(std::memory_order_relaxed)) {
    // Prefer a worker parked on its futex: breaking the poller costs an eventfd write and a
    // return from epoll, and it would leave no one waiting for I/O (Go's wakep does the same).
    // Relaxed: a preference only; unpark() breaks the poll whoever it picks.
    --it;
  }
  if (it == parked_workers_.end()) return nullptr;
  Worker* w = *it;
  parked_workers_.erase(it);
  // Relaxed: the count is re-read under the mutex or after a handshake fence.
  parked_count_.fetch_sub(1, std::memory_order_relaxed);
  // seq_cst, part of the submit/park handshake: the woken worker starts as a searcher, so other
  // submitters do not wake more (Go's wakep).
  searching_.fetch_add(1, std::memory_order_seq_cst);
  return w;
}

void Scheduler::on_to_thread_idle() {
  if (!options_.virtual_time) return;  // real time: parked workers keep their own deadlines
  // A worker that found a job in flight parked with no deadline, and the job's completion woke
  // the task but not the clock: wake one parked worker to redo park()'s check. It registered
  // as parked before it read the pool's count, so it is on the list by now -- or it has yet to
  // read the count and will see zero.
  Worker* w;
  {
    std::lock_guard lock(idle_mutex_);
    w = take_parked_locked(nullptr);
  }
  if (w) unpark(*w);
}

void Scheduler::unpark(Worker& worker) {
  // seq_cst: release, so the worker, acquiring the word, sees that it was taken off the parked
  // list; and the Dekker pair with a poller's store of polling_ then load of this word: either
  // it sees `woken` and does not block, or we see it polling and break the poll.
  worker.park_state_.store(Worker::woken, std::memory_order_seq_cst);
  if (worker.polling_.load(std::memory_order_seq_cst)) {
    reactor_->interrupt();
    return;
  }
  futex_wake_one(worker.park_state_);
}

void Scheduler::cancel_all_tasks() {
  auto tasks = registry_.snapshot();
  remember_torn_down(tasks);
  for (auto& task : tasks) task->cancel_for_teardown();
}

void Scheduler::remember_torn_down(const std::vector<Ref<TaskCore>>& tasks) {
  std::lock_guard lock(torn_down_mutex_);
  torn_down_.insert(torn_down_.end(), tasks.begin(), tasks.end());
}

void Scheduler::report_torn_down() noexcept {
  std::vector<Ref<TaskCore>> tasks;
  {
    std::lock_guard lock(torn_down_mutex_);
    tasks.swap(torn_down_);
  }
  std::sort(tasks.begin(), tasks.end());
  tasks.erase(std::unique(tasks.begin(), tasks.end()), tasks.end());
  for (auto& task : tasks) {
    if (!task->done() || task->cancelled()) continue;
    try {
      if (auto error = task->exception()) {
        call_exception_handler(
            ExceptionContext{.message = "unhandled exception during asyncio.run() shutdown",
                             .exception = error,
                             .future = {},
                             .task = task->repr(),
                             .handle = {},
                             .source_traceback = {},
                             .context = nullptr});
      }
    } catch (...) {
      // repr() could not allocate: the task's own never-retrieved report still applies.
    }
  }
}

bool Scheduler::called_from_inside() const noexcept {
  return local_worker() || thread_scheduler() == this || to_thread_.on_pool_thread();
}

void Scheduler::shutdown() {
  if (called_from_inside()) {
    throw RuntimeError(
        "a runtime cannot be shut down from one of its own workers, tasks or to_thread jobs (it "
        "would wait for itself); shut it down from the thread that owns it");
  }
  // A second caller waits here until the first has finished, then returns.
  std::lock_guard shutting_down(shutdown_mutex_);
  if (shut_down_) return;
  // 0. The inspect server goes first: its socket disappears, and it reads no task in teardown.
  inspect_server_.reset();
  // 1. No new tasks or call_soon from outside; let those already past the check land.
  closed_.store(true, std::memory_order_seq_cst);  // seq_cst: see submit_from_outside
  wait_for_external_submissions();
  // 2. Cancel what is left and wait for it (asyncio.run's _cancel_all_tasks); tasks may create
  // more while they unwind, so repeat until none is left. Each task is cancelled once, even if
  // run()'s main-done callback got to it first.
  for (;;) {
    auto tasks = registry_.snapshot();
    if (tasks.empty()) break;
    remember_torn_down(tasks);
    for (auto& task : tasks) task->cancel_for_teardown();
    for (auto& task : tasks) wait_until_done(*task, -1);
  }
  report_torn_down();
  // 3. The blocking jobs end; then no thread outside the workers may queue anything more.
  to_thread_.shutdown();
  callbacks_closed_.store(true, std::memory_order_seq_cst);  // seq_cst: see submit_from_outside
  wait_for_external_submissions();
  // 4. The workers run what is queued and exit (see Worker::main). A worker that has left its
  // loop stands still: the monitor goes first.
  if (monitor_) monitor_->stop();
  stopping_.store(true, std::memory_order_release);
  {
    std::lock_guard lock(idle_mutex_);
    while (Worker* w = take_parked_locked(nullptr)) unpark(*w);
  }
  for (auto& worker : workers_) {
    if (worker->thread_.joinable()) worker->thread_.join();
  }
  reactor_->mark_loop_closed();
  shut_down_ = true;
}

// ---------------------------------------------------------------------------------- metrics

void WorkerCounters::start_busy(std::int64_t now_ns) noexcept {
  // Relaxed load: only we write the word. Release store: a reader that sees it reads its clock
  // after ours (see busy_ns).
  const std::int64_t busy = busy_word.load(std::memory_order_relaxed) >> 1;
  busy_word.store(((busy - now_ns) << 1) | 1, std::memory_order_release);
}

void WorkerCounters::stop_busy(std::int64_t now_ns) noexcept {
  // Relaxed load: only we write the word; the store is relaxed, no reader adds a clock to it.
  const std::int64_t word = busy_word.load(std::memory_order_relaxed);
  if (!(word & 1)) return;  // asleep already
  busy_word.store(((word >> 1) + now_ns) << 1, std::memory_order_relaxed);
}

std::uint64_t WorkerCounters::busy_ns() const noexcept {
  // Acquire, pairing with start_busy's release: our clock is read after the worker's wake-up
  // time, so an awake worker's busy time never reads less than it did a moment before.
  const std::int64_t word = busy_word.load(std::memory_order_acquire);
  const std::int64_t since_start = (word & 1) ? (word >> 1) + monotonic_now_ns() : word >> 1;
  const std::uint64_t busy = since_start > 0 ? static_cast<std::uint64_t>(since_start) : 0;
  // Never less than a reading already handed out (see busy_reported). Relaxed: one variable,
  // whose modification order alone makes the readings grow; nothing else is read through it.
  std::uint64_t reported = busy_reported.load(std::memory_order_relaxed);
  while (busy > reported &&
         !busy_reported.compare_exchange_weak(reported, busy, std::memory_order_relaxed)) {
  }
  return busy > reported ? busy : reported;
}

WorkerMetrics Worker::metrics() const noexcept {
  // Relaxed loads (see WorkerCounters): each figure is a recent value on its own.
  auto read = [](const std::atomic<std::uint64_t>& counter) {
    return counter.load(std::memory_order_relaxed);
  };
  const WorkerCounters& c = counters_;
  WorkerMetrics m;
  m.step_count = read(c.steps);
  m.steal_count = read(c.steals);
  m.steal_operations = read(c.steal_operations);
  m.park_count = read(c.parks);
  m.unpark_count = read(c.unparks);
  m.lifo_slot_hits = read(c.lifo_slot_hits);
  m.hand_offs = read(c.hand_offs);
  m.local_queue_depth = queue_.size() + spawns_.size();
  m.busy_ns = c.busy_ns();
  m.spawned_tasks_count = read(c.spawned);
  m.overflow_count = read(c.overflows);
  m.block_pool_hits = read(c.pools.block_hits);
  m.block_pool_misses = read(c.pools.block_misses);
  m.stack_pool_hits = read(c.pools.stack_hits);
  m.stack_pool_misses = read(c.pools.stack_misses);
  m.stacks_released = read(c.pools.stacks_released);
  return m;
}

RuntimeMetrics Scheduler::metrics() {
  RuntimeMetrics m;
  m.num_workers = worker_count();
  // The registry's shard locks: a few uncontended spinlocks, like all_tasks() takes.
  m.num_alive_tasks = registry_.size();
  m.injection_queue_depth = injection_.size();
  m.io_waiters = reactor_->waiter_count();
  m.remote_spawned_tasks_count = remote_spawned_.load(std::memory_order_relaxed);  // a count
  m.workers.reserve(workers_.size());
  // Sums of counters that different workers write (a sleep may start on one and end on
  // another): the ends are read first, so a sleep that starts and ends meanwhile counts as
  // still waiting rather than taking the difference below zero (clamped, should relaxed loads
  // still show an end before its start).
  std::uint64_t sleeps_ended = 0, sleeps_started = 0, stacks_released = 0, stacks_taken = 0;
  for (const auto& w : workers_) {
    sleeps_ended += w->counters_.sleeps_ended.load(std::memory_order_relaxed);
    stacks_released += w->counters_.pools.stacks_released.load(std::memory_order_relaxed);
  }
  for (const auto& w : workers_) {
    sleeps_started += w->counters_.sleeps_started.load(std::memory_order_relaxed);
    m.workers.push_back(w->metrics());
    stacks_taken += m.workers.back().stack_pool_hits + m.workers.back().stack_pool_misses;
  }
  m.timer_waiters = sleeps_started > sleeps_ended ? sleeps_started - sleeps_ended : 0;
  m.stacks_in_use = stacks_taken > stacks_released ? stacks_taken - stacks_released : 0;
  return m;
}

void Scheduler::count_sleep_ended() noexcept {
  if (Worker* w = local_worker()) w->count_sleep_ended();
}

// ---------------------------------------------------------------------------------- Worker

void Worker::main() {
  tls_worker = this;
  tls_scheduler = &scheduler_;
  set_thread_callback_scheduler(scheduler_.shared_from_this());
  // A control block of our own for the tasks made here: its deleter, run when the last of them
  // lets go (maybe long after we exit), drops the one real reference it holds.
  anchor_ = std::shared_ptr<Scheduler>(
      &scheduler_, [real = scheduler_.shared_from_this()](Scheduler*) mutable { real.reset(); });
  steal_seed_ = index_ * 2654435761u + 1;
  count_pool_use_in(&counters_.pools);
  counters_.start_busy(monotonic_now_ns());
  for (;;) {
    Runnable* item = nullptr;
    if (handed_off_) {
      item = std::exchange(handed_off_, nullptr);
      count_one(counters_.hand_offs);
    } else {
      item = find_work();
    }
    if (item) {
      if (searching_) stop_searching_and_maybe_wake();
      run_step(item);
      continue;
    }
    // Exit only with nothing queued anywhere: find_work() also comes back empty-handed when
    // another worker holds the injection queue's consumer lock, and a worker that left then
    // stranded what the others could not reach in time (callbacks accepted before shutdown()
    // were lost that way). Nothing new arrives from outside once stopping_ is set.
    if (scheduler_.stopping_.load(std::memory_order_acquire) && !work_visible_anywhere()) break;
    park();
  }
  if (searching_) {
    searching_ = false;
    scheduler_.searching_.fetch_sub(1, std::memory_order_relaxed);
  }
  timers_.clear();
  anchor_.reset();
  counters_.stop_busy(monotonic_now_ns());
  count_pool_use_in(nullptr);  // the thread's last frees (its caches) are nobody's business
  set_thread_callback_scheduler(nullptr);
  tls_scheduler = nullptr;
  tls_worker = nullptr;
}

void Worker::run_step(Runnable* item) {
  // The one test debug mode costs a step outside it.
  if (scheduler_.debug_) [[unlikely]] {
    run_step_debug(item);
  } else {
    count_one(counters_.steps);
    item->run();
  }
  scheduler_.unmark_blocked(*this);  // back: the others stop taking over at once
}

namespace {

std::string site_text(const SourceLocation& site) {
  return std::string(site.file_name()) + ":" + std::to_string(site.line()) + " in " +
         site.function_name();
}

}  // namespace

void Worker::run_step_debug(Runnable* item) {
  // A task is held through its step, so that where it stopped can still be read after a step
  // that finished it (its own reference goes with the step).
  auto* task = dynamic_cast<TaskCore*>(item);
  Ref<TaskCore> held;
  std::string facts;  // the task's places, for the reports
  SourceLocation before;
  bool first_step = false;
  if (task) {
    held = Ref<TaskCore>(task);
    first_step = task->frame().raw_state() == FrameState::created;
    before = task->frame().await_site();
    if (SourceLocation created = task->source_traceback(); *created.file_name()) {
      facts = ", created at " + site_text(created);
    }
  }
  {
    std::string description = item->describe() + facts;
    std::lock_guard hold(running_lock_);
    running_.swap(description);
  }
  const std::int64_t began = monotonic_now_ns();
  step_began_ns_.store(began, std::memory_order_relaxed);  // see step_began_ns()
  count_one(counters_.steps);
  item->run();
  const std::int64_t took = monotonic_now_ns() - began;
  step_began_ns_.store(0, std::memory_order_relaxed);
  if (took < scheduler_.slow_callback_ns()) return;
  // asyncio: "Executing <Task ...> took 0.123 seconds", the handle's repr after the step; then
  // what asyncio's single thread makes needless: the worker, and where the task's step began
  // and ended (a task suspends only at an await, so these bound the slow code).
  std::string what = task ? task->repr() : running_description();
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.3f", static_cast<double>(took) * 1e-9);
  std::string message =
      "Executing " + what + " took " + seconds + " seconds (worker " + std::to_string(index_);
  if (task) {
    std::string from = first_step            ? std::string("began its first step")
                       : *before.file_name() ? "resumed from the await at " + site_text(before)
                                             : std::string("resumed");
    std::string to;
    if (task->done()) {
      to = "ended the task";
    } else if (SourceLocation after = task->frame().await_site(); *after.file_name()) {
      to = "suspended at " + site_text(after);
    } else {
      to = "suspended";
    }
    message += ": " + from + ", " + to + facts;
  }
  message += ")";
  warn({"WARNING", std::move(message), "", 0});
}

std::string Worker::running_description() const {
  std::lock_guard hold(running_lock_);
  return running_.empty() ? std::string("an unknown task (debug mode was off)") : running_;
}

bool Worker::holds_work_for_others(std::int64_t now_ns) const noexcept {
  return !queue_.empty() || !spawns_.empty() || lifo_slot_.load(std::memory_order_relaxed) ||
         timers_.published_next_deadline() <= now_ns;
}

void Worker::help_blocked_workers() {
  for (auto& other : scheduler_.workers_) {
    Worker& victim = *other;
    if (&victim == this || !victim.blocked_.load(std::memory_order_relaxed)) continue;
    // What they wake comes to us, behind what we have ready (fire_due_timers' rule).
    if (has_local_ready()) {
      victim.timers_.take_over_due(scheduler_.now_ns(),
                                   [this](Runnable* due) { push_local(due, false); });
    } else {
      victim.timers_.take_over_due(scheduler_.now_ns());
    }
    Runnable* item = victim.lifo_slot_.load(std::memory_order_relaxed);
    // Acquire: pairs with the exchange that put it there, as in steal().
    if (item && victim.lifo_slot_.compare_exchange_strong(item, nullptr, std::memory_order_acquire,
                                                          std::memory_order_relaxed)) {
      count_steal(1);
      push_local(item, false);
    }
    if (Runnable* spawned = victim.spawns_.steal()) {
      count_steal(1);
      push_local(spawned, false);
    }
    std::uint32_t taken = 0;
    if (Runnable* queued = victim.queue_.steal_half_into(queue_, &taken)) {
      count_steal(taken);
      push_local(queued, false);
    }
  }
}

void Worker::push_local(Runnable* item, bool woken) {
  if (woken) {
    // acq_rel: we publish `item` to thieves of the slot and take over the previous occupant.
    item = lifo_slot_.exchange(item, std::memory_order_acq_rel);
    // An empty slot wakes nobody: this worker runs the task as soon as its step ends (Tokio's
    // rule). A woken worker would steal it from under us, and a ping-ponging pair would bounce
    // between two threads with a park and an unpark per message.
    if (!item) return;
  }
  while (!queue_.push(item)) {
    Runnable* first;
    Runnable* last;
    if (std::uint32_t n = queue_.take_half_for_spill(item, first, last)) {
      scheduler_.injection_.push_batch(first, last, n);
      count_one(counters_.overflows);
      break;
    }
  }
  scheduler_.notify_work_available();
}

void Worker::push_spawn(Runnable* item) {
  if (!spawns_.push(item)) {
    push_local(item, false);  // full: the FIFO queue (which spills to the injection queue)
    return;
  }
  // A spawn may be the start of parallel work: make sure someone can take it if we keep
  // running (Go's newproc calls wakep).
  scheduler_.notify_work_available();
}

Runnable* Worker::pop_local() {
  if (lifo_streak_ < lifo_cap) {
    Runnable* item = lifo_slot_.load(std::memory_order_relaxed);
    // Acquire: pairs with the exchange that put it there; we may run it.
    if (item && lifo_slot_.compare_exchange_strong(item, nullptr, std::memory_order_acquire,
                                                   std::memory_order_relaxed)) {
      ++lifo_streak_;
      count_one(counters_.lifo_slot_hits);
      return item;
    }
  } else if (Runnable* item = lifo_slot_.exchange(nullptr, std::memory_order_acquire)) {
    // A ping-ponging pair used its streak: send it to the back so the queue is not starved.
    push_local(item, false);
  }
  lifo_streak_ = 0;
  // Spawns newest first, except every fifo_interval-th time: a task that keeps spawning must
  // not starve the woken and yielding tasks in the FIFO queue.
  if (ticks_ % fifo_interval != 0) {
    if (Runnable* item = spawns_.pop()) return item;
  }
  if (Runnable* item = queue_.pop()) return item;
  return spawns_.pop();
}

Runnable* Worker::steal(bool lifo_slots) {
  auto& workers = scheduler_.workers_;
  const unsigned n = static_cast<unsigned>(workers.size());
  steal_seed_ = steal_seed_ * 1664525u + 1013904223u;
  const unsigned start = steal_seed_ % n;
  for (unsigned i = 0; i < n; ++i) {
    Worker& victim = *workers[(start + i) % n];
    if (&victim == this) continue;
    // The oldest spawn first: in a fan-out it is the biggest subtree nobody has started.
    if (Runnable* item = victim.spawns_.steal()) {
      count_steal(1);
      return item;
    }
    std::uint32_t taken = 0;
    if (Runnable* item = victim.queue_.steal_half_into(queue_, &taken)) {
      count_steal(taken);
      return item;
    }
  }
  // Last pass: the LIFO slots (the task a busy worker just woke may wait long behind it). Only
  // a few microseconds into a search (search_lifo_round): its owner is about to run it, usually
  // within microseconds.
  if (!lifo_slots) return nullptr;
  for (unsigned i = 0; i < n; ++i) {
    Worker& victim = *workers[(start + i) % n];
    if (&victim == this) continue;
    Runnable* item = victim.lifo_slot_.load(std::memory_order_relaxed);
    if (item && victim.lifo_slot_.compare_exchange_strong(item, nullptr, std::memory_order_acquire,
                                                          std::memory_order_relaxed)) {
      count_steal(1);
      return item;
    }
  }
  return nullptr;
}

bool Worker::has_local_ready() const noexcept {
  // Relaxed: only this worker pushes to its own queues; a thief taking an item early is harmless.
  return lifo_slot_.load(std::memory_order_relaxed) != nullptr || !queue_.empty() ||
         !spawns_.empty();
}

void Worker::fire_due_timers() {
  // asyncio's loop pass runs what was ready, then the timers that fell due meanwhile, appended
  // behind it: a task made ready before a timer fell due takes its step first (wait_for's timeout
  // never cancels an inner task that has not started). So when something is ready here, due
  // timers join the back of the FIFO queue, each firing when its turn comes; when nothing is, they
  // fire at once, in deadline order, as the same pass would run them.
  // In debug mode they always queue: each then fires as a step of its own, timed (asyncio
  // times each timer handle as it times any other).
  if (has_local_ready() || scheduler_.debug_) {
    timers_.fire_due(scheduler_.now_ns(), [this](Runnable* due) { push_local(due, false); });
  } else {
    timers_.fire_due(scheduler_.now_ns());
  }
}

Runnable* Worker::find_work() {
  ++ticks_;
  progress_.store(ticks_, std::memory_order_relaxed);  // see progress()
  if (!timers_.empty()) fire_due_timers();
  if (scheduler_.blocked_workers_.load(std::memory_order_relaxed) != 0) help_blocked_workers();
  if (ticks_ % injection_interval == 0) {
    // A busy worker looks at I/O too, so that ready sockets never starve behind CPU work.
    poll_io_now();
    if (Runnable* item = scheduler_.injection_.try_pop()) return item;
  }
  if (Runnable* item = pop_local()) return item;
  if (Runnable* item = scheduler_.injection_.try_pop()) return item;
  // A lone worker searches too -- only the injection queue, where foreign threads submit: while
  // it counts as searching, a stream of submissions finds it awake and wakes nobody.
  if (!try_become_searching()) return nullptr;
  // Out of local work: ready I/O before stealing (see search_poll_probe_interval).
  if (search_poll_hit_ || ++search_polls_skipped_ >= search_poll_probe_interval) {
    search_polls_skipped_ = 0;
    search_poll_hit_ = poll_io_now();
    if (search_poll_hit_) {
      if (Runnable* item = pop_local()) return item;
    }
  }
  const bool alone = scheduler_.workers_.size() == 1;
  const std::int64_t start = monotonic_now_ns();
  if (searches_until_yield_probe_ == 0) {
    yield_gives_way_ = true;  // try again: the machine may be busier now
    searches_until_yield_probe_ = yield_probe_interval;
  }
  --searches_until_yield_probe_;
  for (int round = 0;; ++round) {
    Runnable* item = alone ? nullptr : steal(round >= search_lifo_round);
    if (!item) item = scheduler_.injection_.try_pop();
    const std::int64_t now = monotonic_now_ns();
    if (item) {
      // Found late: the next search may need as long.
      search_budget_ns_ = std::clamp(2 * (now - start), search_budget_ns_, search_budget_max_ns);
      return item;
    }
    if (round >= search_lifo_round && now - start >= search_budget_ns_) break;
    if (round < search_pause_rounds || !yield_gives_way_) {
      const int spins = 32 << std::min(round, search_pause_rounds - 1);
      for (int spin = 0; spin < spins; ++spin) WEFT_CPU_RELAX();
    } else {
      sched_yield();
      if (monotonic_now_ns() - now < yield_gave_way_ns) yield_gives_way_ = false;
    }
  }
  search_budget_ns_ = std::max(search_budget_ns_ / 2, search_budget_min_ns);
  return nullptr;
}

bool Worker::poll_io_now() {
  Reactor& reactor = *scheduler_.reactor_;
  // Nobody waits (an idle runtime makes no syscall), or a thread blocks in the poller already
  // and gets the events first.
  if (!reactor.has_waiters() || reactor.poller_blocked()) return false;
  collecting_io_wakes_ = true;
  reactor.poll_now();
  collecting_io_wakes_ = false;
  const bool readied = !io_wakes_.empty();
  flush_io_wakes();
  return readied;
}

void Worker::flush_io_wakes() {
  const std::size_t n = io_wakes_.size();
  if (n == 0) return;
  // In wake order, to the back of our FIFO queue, without waking anyone per task.
  for (Runnable* item : io_wakes_) {
    while (!queue_.push(item)) {
      Runnable* first;
      Runnable* last;
      if (std::uint32_t spilled = queue_.take_half_for_spill(item, first, last)) {
        scheduler_.injection_.push_batch(first, last, spilled);
        count_one(counters_.overflows);
        break;
      }
    }
  }
  io_wakes_.clear();
  // We run the first ourselves; one more worker for the rest, who wakes more if it finds more.
  if (n > 1) scheduler_.notify_work_available();
}

bool Worker::try_become_searching() {
  if (searching_) return true;
  const std::uint32_t workers = static_cast<std::uint32_t>(scheduler_.workers_.size());
  // Relaxed: a heuristic bound ("at most half the busy workers search"), not a correctness rule.
  std::uint32_t busy = workers - scheduler_.parked_count_.load(std::memory_order_relaxed);
  if (2 * scheduler_.searching_.load(std::memory_order_relaxed) >= busy) return false;
  scheduler_.searching_.fetch_add(1, std::memory_order_seq_cst);
  searching_ = true;
  return true;
}

void Worker::stop_searching_and_maybe_wake() {
  searching_ = false;
  // seq_cst: part of the submit/park handshake. A submitter that saw searchers did not wake
  // anyone: the last searcher to leave inherits its push. After our decrement and a fence, we see
  // every push whose submitter read the count before the decrement (both fences are then ordered),
  // so if none is visible, none was left to us -- the one we found may well have been it. If some
  // is, wake a parked worker (unless someone searches again), as Go's resetspinning does. Waking
  // only then saves a stream of submissions, each found by the one searcher, a futex wake apiece.
  if (scheduler_.searching_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
    scheduler_.handshake();
    if (work_visible_anywhere()) scheduler_.wake_one_if_nobody_searches();
  }
}

bool Worker::work_visible_anywhere() const {
  if (!scheduler_.injection_.empty()) return true;
  for (auto& w : scheduler_.workers_) {
    if (!w->queue_.empty() || !w->spawns_.empty() ||
        w->lifo_slot_.load(std::memory_order_acquire)) {
      return true;
    }
  }
  return false;
}

void Scheduler::jump_virtual_clock(Worker& self) {
  std::lock_guard lock(idle_mutex_);
  if (parked_count_.load(std::memory_order_relaxed) != workers_.size()) return;  // not idle now
  Worker* earliest = nullptr;
  std::int64_t when = TimerQueue::none;
  for (auto& w : workers_) {
    std::int64_t d = w->timers_.published_next_deadline();
    if (d < when) {
      when = d;
      earliest = w.get();
    }
  }
  if (!earliest) return;
  // Release: a worker that reads the new time sees that the jump happened.
  if (when > virtual_now_ns_.load(std::memory_order_relaxed)) {
    virtual_now_ns_.store(when, std::memory_order_release);
  }
  if (earliest != &self) {
    if (Worker* w = take_parked_locked(earliest)) unpark(*w);
  }
}

void Worker::park() {
  Scheduler& s = scheduler_;
  park_state_.store(parked, std::memory_order_relaxed);
  bool all_idle;
  {
    std::lock_guard lock(s.idle_mutex_);
    s.parked_workers_.push_back(this);
    std::uint32_t parked = s.parked_count_.fetch_add(1, std::memory_order_seq_cst) + 1;
    all_idle = parked == s.workers_.size();
  }
  if (searching_) {
    searching_ = false;
    s.searching_.fetch_sub(1, std::memory_order_seq_cst);
  }
  // Pairs with the submitter's handshake (see the invariants at the top).
  s.handshake();

  auto unregister = [&] {
    std::lock_guard lock(s.idle_mutex_);
    auto it = std::find(s.parked_workers_.begin(), s.parked_workers_.end(), this);
    if (it != s.parked_workers_.end()) {
      s.parked_workers_.erase(it);
      s.parked_count_.fetch_sub(1, std::memory_order_relaxed);
      leave_park();
      return;
    }
    // An unparker took us off the list and counted us as searching; wait for its store.
    while (park_state_.load(std::memory_order_acquire) != woken) WEFT_CPU_RELAX();
    leave_park();
    searching_ = true;
  };

  if (work_visible_anywhere() || s.stopping_.load(std::memory_order_acquire)) {
    unregister();
    return;
  }

  std::int64_t deadline = -1;  // absolute CLOCK_MONOTONIC, -1 = none
  if (s.options_.virtual_time) {
    // Never while a task waits on real I/O: its peer's bytes come in real time.
    if (all_idle && s.to_thread_.in_flight() == 0 && !s.reactor_->has_waiters()) {
      s.jump_virtual_clock(*this);
    }
    // Our own timers are due now if we were the earliest: do not sleep.
    if (!timers_.empty() && timers_.next_deadline() <= s.now_ns()) {
      unregister();
      return;
    }
  } else if (!timers_.empty()) {
    deadline = s.start_ns_ + timers_.next_deadline();
  }

  // Going to sleep: a good moment to give the pages of surplus warm stacks back to the kernel
  // (cheap when there are none), so a runtime that ran a burst of tasks does not keep its RSS.
  count_one(counters_.parks);
  const std::int64_t parked_at = monotonic_now_ns();
  counters_.stop_busy(parked_at);
  trim_stack_pools();
  if (all_idle) trim_block_pool();  // the burst is over: its task memory goes back to malloc
  Reactor& reactor = *s.reactor_;
  if (reactor.has_waiters() && reactor.try_begin_blocking()) {
    // The blocking poller, until our next timer (Go's findRunnable blocks in netpoll): what it
    // readies comes to our queue once we are off the parked list.
    polling_.store(true, std::memory_order_seq_cst);  // seq_cst: see Scheduler::unpark
    collecting_io_wakes_ = true;
    while (park_state_.load(std::memory_order_seq_cst) == parked) {
      reactor.poll_blocking(deadline);
      if (!io_wakes_.empty() || (deadline >= 0 && monotonic_now_ns() >= deadline)) break;
    }
    collecting_io_wakes_ = false;
    polling_.store(false, std::memory_order_relaxed);  // read only by unparkers, under the above
    reactor.end_blocking();
  } else {
    while (park_state_.load(std::memory_order_acquire) == parked) {
      futex_wait(park_state_, parked, deadline);
      if (deadline >= 0 && monotonic_now_ns() >= deadline) break;
    }
  }
  const std::int64_t woke_at = monotonic_now_ns();
  counters_.start_busy(woke_at);
  const bool work_came = !io_wakes_.empty() || park_state_.load(std::memory_order_relaxed) == woken;
  if (work_came && woke_at - parked_at < search_budget_max_ns) {
    // Work came within the longest search: searching on would have found it without the wake.
    search_budget_ns_ = std::min(2 * search_budget_ns_, search_budget_max_ns);
  }
  if (park_state_.load(std::memory_order_acquire) == woken) {
    leave_park();
    searching_ = true;  // counted by whoever woke us
    count_one(counters_.unparks);
  } else {
    unregister();  // our deadline came: take ourselves off the list
  }
  flush_io_wakes();
}

void Worker::leave_park() noexcept {
  // seq_cst, as the monitor's load of it after its store of `dozing` (Dekker): either it sees us
  // awake and does not doze, or we see it dozing and wake it.
  park_state_.store(awake, std::memory_order_seq_cst);
  if (scheduler_.monitor_) scheduler_.monitor_->worker_unparked();
}

}  // namespace weft::detail
