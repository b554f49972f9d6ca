// Internal: the thread that notices a worker stuck inside one step -- a blocking call in a task,
// a long computation -- and gets its queued tasks and due timers run by the other workers, as
// Go's sysmon retakes the processor of a thread stuck in a system call.
//
// Every few milliseconds it reads each worker's progress counter (bumped, relaxed, each time the
// worker looks for work). A worker that is not parked and whose counter has not moved for the
// threshold is marked blocked: the other workers then take its LIFO slot, its queue and its due
// timers each time they look for work (Worker::help_blocked_workers), and the monitor wakes a
// parked worker whenever the blocked one holds something they could run. The mark goes when the
// counter moves again. In debug mode it names the task that blocked the worker once the step has
// lasted Runtime::slow_callback_duration (asyncio's one threshold for slow code; the takeover's
// 10 ms would report every ordinary long step), with the takeover off too.
//
// An idle runtime costs it nothing: once every worker has stayed parked for a few looks, it dozes
// (a futex wait without a deadline) until a worker leaving park() wakes it. Nothing can stall
// while every worker is parked, and no wake-up is missed (the Dekker pair in main()).
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace weft::detail {

class Scheduler;

class BlockedWorkerMonitor {
 public:
  // `takeover_ns`: kNeverNs when no takeover is to be done (one worker, or turned off): the
  // monitor then only reports, in debug mode.
  BlockedWorkerMonitor(Scheduler& scheduler, std::int64_t takeover_ns, bool debug);
  ~BlockedWorkerMonitor();
  BlockedWorkerMonitor(const BlockedWorkerMonitor&) = delete;
  BlockedWorkerMonitor& operator=(const BlockedWorkerMonitor&) = delete;

  void start();
  void stop();  // idempotent; joins the thread
  // A worker has left park() (its park word is `awake` again): if the monitor dozes, it looks
  // again now.
  void worker_unparked() noexcept {
    // seq_cst: the Dekker pair with the monitor's store of `dozing` (see main()).
    if (state_.load(std::memory_order_seq_cst) == dozing) wake(awake);
  }

 private:
  static constexpr std::uint32_t awake = 0, dozing = 1, stopped = 2;
  struct Seen {
    std::uint64_t progress = 0;
    std::int64_t since_ns = 0;  // monotonic: when the counter last moved (or the worker parked)
    bool reported = false;      // debug: this stall was reported
  };

  void main();
  // One look at every worker; returns whether all of them were parked.
  bool look(std::int64_t now_ns);
  // Whether every worker is parked, read seq_cst (the last look before a doze).
  bool all_parked() const noexcept;
  void wake(std::uint32_t to) noexcept;

  Scheduler& scheduler_;
  const std::int64_t takeover_ns_;
  const bool debug_;
  std::vector<Seen> seen_;  // monitor thread only
  // awake / dozing / stopped; the futex the monitor sleeps on.
  std::atomic<std::uint32_t> state_{awake};
  std::thread thread_;
};

}  // namespace weft::detail
