#include "sched/blocked_worker_monitor.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "sched/futex.hpp"
#include "sched/scheduler.hpp"
#include "weft/warnings.hpp"

namespace weft::detail {
namespace {

// The longest period between two looks while awake.
constexpr std::int64_t longest_period_ns = 250'000'000;
// Looks in a row with every worker parked before the monitor dozes.
constexpr int idle_looks_before_doze = 4;

std::string milliseconds(std::int64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", static_cast<double>(ns) / 1e6);
  return text;
}

}  // namespace

BlockedWorkerMonitor::BlockedWorkerMonitor(Scheduler& scheduler, std::int64_t takeover_ns,
                                           bool debug)
    : scheduler_(scheduler), takeover_ns_(takeover_ns), debug_(debug) {}

BlockedWorkerMonitor::~BlockedWorkerMonitor() {
  stop();
}

void BlockedWorkerMonitor::start() {
  // From now: a worker whose thread has not yet looked for work (progress 0) has not been
  // stalled since the clock's origin.
  seen_.assign(scheduler_.worker_count(), Seen{0, monotonic_now_ns(), false});
  thread_ = std::thread([this] { main(); });
}

void BlockedWorkerMonitor::stop() {
  wake(stopped);
  if (thread_.joinable()) thread_.join();
}

void BlockedWorkerMonitor::wake(std::uint32_t to) noexcept {
  std::uint32_t state = state_.load(std::memory_order_relaxed);
  // Relaxed: the word carries no data, only whether to sleep; `stopped` is final.
  while (state != stopped && state != to &&
         !state_.compare_exchange_weak(state, to, std::memory_order_relaxed)) {
  }
  futex_wake_all(state_);
}

void BlockedWorkerMonitor::main() {
  int idle_looks = 0;
  for (;;) {
    // Look twice per threshold, so a stall is seen between 1 and 1.5 thresholds after it began.
    // The report's threshold may change at any time (set_slow_callback_duration).
    const std::int64_t threshold_ns =
        debug_ ? std::min(takeover_ns_, scheduler_.slow_callback_ns()) : takeover_ns_;
    const std::int64_t period_ns =
        std::clamp<std::int64_t>(threshold_ns / 2, 1'000'000, longest_period_ns);
    std::uint32_t state = state_.load(std::memory_order_relaxed);
    if (state == stopped) return;
    // Dozing: no deadline; a worker leaving park wakes us.
    futex_wait(state_, state, state == dozing ? -1 : monotonic_now_ns() + period_ns);
    state = state_.load(std::memory_order_relaxed);
    if (state == stopped) return;
    if (state == dozing) continue;  // a spurious return
    if (!look(monotonic_now_ns())) {
      idle_looks = 0;
      continue;
    }
    if (++idle_looks < idle_looks_before_doze) continue;
    // To doze: store `dozing`, then read every park word again, both seq_cst. A worker leaving
    // park stores `awake` into its word, then reads ours, both seq_cst (Worker::leave_park). In
    // the one order of seq_cst operations either we read its `awake` (and stay awake) or it reads
    // our `dozing` (and wakes us): a worker never runs while we sleep without a deadline.
    std::uint32_t expected = awake;
    if (state_.compare_exchange_strong(expected, dozing, std::memory_order_seq_cst) &&
        !all_parked()) {
      expected = dozing;
      state_.compare_exchange_strong(expected, awake, std::memory_order_relaxed);
    }
    idle_looks = 0;
  }
}

bool BlockedWorkerMonitor::all_parked() const noexcept {
  for (unsigned i = 0; i < scheduler_.worker_count(); ++i) {
    if (!scheduler_.worker(i).is_parked(std::memory_order_seq_cst)) return false;
  }
  return true;
}

bool BlockedWorkerMonitor::look(std::int64_t now_ns) {
  bool all_parked = true;
  for (unsigned i = 0; i < seen_.size(); ++i) {
    Worker& worker = scheduler_.worker(i);
    Seen& seen = seen_[i];
    const std::uint64_t progress = worker.progress();
    if (worker.is_parked() || progress != seen.progress) {
      seen = Seen{progress, now_ns, false};
      scheduler_.unmark_blocked(worker);
      continue;
    }
    all_parked = false;
    const std::int64_t stalled_ns = now_ns - seen.since_ns;
    const bool takeover = stalled_ns >= takeover_ns_;
    if (takeover) scheduler_.mark_blocked(worker);
    if (debug_ && !seen.reported) {
      // In debug mode the worker times its step: the report says how long the step has lasted,
      // not only since this monitor first saw it stand still, and a worker between steps (its
      // thread starting, or preempted on the way to park) is not reported.
      const std::int64_t began_ns = worker.step_began_ns();
      const std::int64_t step_ns = began_ns != 0 ? monotonic_now_ns() - began_ns : 0;
      if (began_ns != 0 && step_ns >= scheduler_.slow_callback_ns()) {
        seen.reported = true;
        warn({"WARNING",
              "weft: worker " + std::to_string(i) + " has been inside one step for " +
                  milliseconds(step_ns) + ", running " + worker.running_description() +
                  (takeover ? "; its queued tasks and due timers go to the other workers meanwhile"
                            : "") +
                  ". A blocking call in a task holds up its worker: run it with weft::to_thread",
              "", 0});
      }
    }
    if (!takeover) continue;
    // Tasks waiting on I/O with nobody blocked in the poller would wait for this worker's next
    // poll: a worker woken to help searches, polls, and parks as the poller (Go's sysmon polls).
    Reactor& reactor = scheduler_.reactor();
    if (worker.holds_work_for_others(scheduler_.now_ns()) ||
        (reactor.has_waiters() && !reactor.poller_blocked())) {
      scheduler_.wake_worker_to_help();
    }
  }
  return all_parked;
}

}  // namespace weft::detail
