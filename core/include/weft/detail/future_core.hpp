// Internal: the type-independent part of a Future -- its state word, exception, cancel message,
// done callbacks and waiters -- shared by Future<T> and, later, Task<T>.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "weft/detail/block_pool.hpp"
#include "weft/detail/ref.hpp"
#include "weft/detail/runnable.hpp"
#include "weft/detail/spin_lock.hpp"
#include "weft/exception_handler.hpp"

namespace weft {
enum class FutureState : std::uint8_t { PENDING, CANCELLED, FINISHED };
class Runtime;  // the loop a scheduler belongs to: defined by the runtime layer
}  // namespace weft

namespace weft::detail {

// Where a future runs its done callbacks: asyncio schedules them on the future's loop with
// call_soon. A future made outside any runtime has none and runs them inline at completion.
class CallbackScheduler {
 public:
  virtual ~CallbackScheduler() = default;
  // Runs `callback` soon, not inline. Returns false if the scheduler is closed (run it inline).
  virtual bool call_soon(std::function<void()>& callback) = 0;
  // The same for a job made by the caller (its run() frees it): no allocation here, so it cannot
  // fail for memory. False: refused, and the job is still the caller's.
  virtual bool call_soon(Runnable* job) noexcept = 0;
  // Reports an error nobody can catch (asyncio's loop.call_exception_handler): the runtime's
  // handler; by default, the default handler's log. Never throws.
  virtual void call_exception_handler(const ExceptionContext& context) noexcept;
  // Around the wake-ups a future's callback job delivers: the tasks woken between the two calls
  // are not queued but run, in order, when the second returns -- asyncio's __wakeup steps its
  // task at once, at the callback's place in the ready queue. begin_ returns false (and wake-ups
  // queue as usual) where no task may run: off a worker, or inside a task.
  virtual bool begin_inline_wakes() noexcept { return false; }
  virtual void run_inline_wakes() noexcept {}
  // The Runtime (asyncio's loop) behind this scheduler, for get_loop(); null if there is none.
  virtual Runtime* loop() const noexcept { return nullptr; }
};

// The default exception handler's log (the warning sink, category "ERROR"); the first may throw
// what the sink throws, the second reports that failure on standard error instead.
void log_exception_context(const ExceptionContext& context);
void log_exception_context_noexcept(const ExceptionContext& context) noexcept;

// The scheduler of the runtime this thread works for (set by the runtime's workers), or null.
std::shared_ptr<CallbackScheduler> thread_callback_scheduler() noexcept;
void set_thread_callback_scheduler(std::shared_ptr<CallbackScheduler> scheduler) noexcept;

class FutureCore;

// A party blocked on a future (a task, a foreign thread): woken inline, with no allocation, when
// the future completes. Waking must be quick and must not call back into the future.
class Waiter {
 public:
  virtual void on_future_done(FutureCore& future) noexcept = 0;
  // The task waiting through this waiter, for the await graph (call_graph.hpp); null for a
  // thread. While the waiter is registered, that task is suspended on the future.
  virtual FutureCore* awaiting() const noexcept { return nullptr; }

 protected:
  ~Waiter() = default;

 private:
  friend class FutureCore;
  Waiter* next_ = nullptr;
  std::uint64_t order_ = 0;  // its place among the future's callbacks (their id sequence)
};

// Held through Ref<FutureCore> (ref.hpp), from the block pool: one block per future or task.
class FutureCore : public PooledObject {
 public:
  using Callback = std::function<void(FutureCore&)>;

  FutureCore();
  // A future bound to `scheduler` (null: callbacks run inline).
  explicit FutureCore(std::shared_ptr<CallbackScheduler> scheduler);
  FutureCore(const FutureCore&) = delete;
  FutureCore& operator=(const FutureCore&) = delete;
  virtual ~FutureCore();

  // ---- The count behind Ref<FutureCore>: born at one, the creator's reference (make_ref).
  // Relaxed: a new reference is made from one the caller holds, so the object cannot die
  // meanwhile, and the increment publishes nothing.
  void add_ref() const noexcept { references_.fetch_add(1, std::memory_order_relaxed); }
  // acq_rel: each holder's writes happen before the delete (release), and the one that deletes
  // sees them all (acquire).
  void release_ref() const noexcept {
    if (references_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
  }
  // An increment only while the count is not zero: false for an object being destroyed.
  bool try_add_ref() const noexcept;

  // Acquire pairs with the release in complete(): a reader that sees done also sees the value.
  FutureState state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool done() const noexcept { return state() != FutureState::PENDING; }
  bool cancelled() const noexcept { return state() == FutureState::CANCELLED; }
  // asyncio's Future.get_loop(): the runtime the future belongs to. RuntimeError for a future
  // made outside any runtime (it runs its callbacks inline and belongs to none).
  Runtime& get_loop() const;

  // Future.cancel (false when already done) or, for a future that passes cancellation on -- a
  // Task to the future it awaits, a gather to its children -- that future's rules. The walk down
  // such a chain is a loop over an explicit stack, never a recursion: a chain of any depth
  // cancels in bounded stack, and a cycle of awaits ends (see cancel_chain.cpp).
  bool cancel(std::string message);
  // Completes with the value already stored by `store` (called under the lock only if pending).
  // A template over the callable, not a std::function: a task's completion builds no wrapper.
  template <class Store>
  void finish(Store&& store, const char* operation) {
    finish_with([](void* s) { (*static_cast<std::remove_reference_t<Store>*>(s))(); },
                const_cast<void*>(static_cast<const void*>(&store)), operation);
  }
  void set_exception(std::exception_ptr error);

  // The stored exception (null if finished with a value). Throws CancelledError if cancelled,
  // InvalidStateError if pending. Marks the exception as retrieved.
  std::exception_ptr exception();
  // Throws what result() must throw; returns normally when a value is there to return.
  void check_result();
  // Only meaningful once cancelled(): the message is written before the state is published.
  const std::string& cancel_message() const noexcept;
  // Inspection without marking the exception retrieved (for repr and print_stack). Only
  // meaningful once done(): the exception is written before the state is published.
  bool has_exception() const noexcept { return done() && exception_ != nullptr; }
  std::exception_ptr peek_exception() const noexcept {
    return done() ? exception_ : std::exception_ptr();
  }

  // Done callbacks and waiters run in the order they were added, as asyncio's callbacks do (an
  // awaiting task is one of them there): see complete_locked_and_run.
  std::uint64_t add_done_callback(Callback callback);
  std::size_t remove_done_callback(std::uint64_t id);
  // Removes every callback `matches` accepts; returns how many (remove_done_callback(fn)).
  template <class Match>
  std::size_t remove_done_callbacks_if(const Match& matches) {
    return remove_done_callbacks_if(
        [](const Callback& callback, const void* match) {
          return (*static_cast<const Match*>(match))(callback);
        },
        &matches);
  }
  std::size_t remove_done_callbacks_if(bool (*matches)(const Callback&, const void*),
                                       const void* match);

  // Registers a waiter; false (and nothing registered) if the future is done and its callbacks
  // have run (while they run, a new waiter wakes after them).
  bool add_waiter(Waiter& waiter);
  // Unregisters a waiter that has not been woken; false if it was already woken (or never added).
  bool remove_waiter(Waiter& waiter);

  // ---- The await graph (architecture.md §16). Who awaits this future: the tasks registered as
  // waiters, and the records below, which asyncio's gather, shield, wait, TaskGroup and
  // future_add_to_awaited_by make. A set of plain pointers, under the lock: whoever adds
  // `waiter` keeps it alive until it discards it (a capture takes a reference under the lock).
  void add_awaited_by(FutureCore& waiter);
  void discard_awaited_by(const FutureCore& waiter) noexcept;
  // Under the lock, calls visit(context, awaiter, suspended) for each waiter's task (suspended:
  // it stays suspended while the lock is held), in the order they began waiting, then for each
  // record.
  using AwaiterVisit = void (*)(void* context, FutureCore& awaiter, bool suspended);
  void visit_awaited_by(AwaiterVisit visit, void* context);
  // Runs fn(context) under the lock if `waiter` is registered (not yet woken); else false.
  bool while_registered(const Waiter& waiter, void (*fn)(void*), void* context) const;
  void unlock_for_graph() const noexcept { unlock(); }  // (their scope guard's)

  // asyncio 3.14's shield: the inner future of a cancelled shield failed. Reports "<Type>
  // exception in shielded future" to the exception handler and marks the exception retrieved;
  // nothing if it finished with a value or was cancelled.
  void report_shielded_exception() noexcept;
  // True the first time only: one reporting callback per inner future, however many of its
  // shields were cancelled, on however many workers at once.
  bool arm_shield_report() noexcept {
    // Relaxed: an exchange has one winner whatever the order; it publishes nothing.
    return !shield_report_armed_.exchange(true, std::memory_order_relaxed);
  }

  virtual std::string repr() const;
  // How the "exception was never retrieved" report names the object ("Future", "Task").
  virtual const char* kind_name() const noexcept { return "Future"; }
  // Where the object was created, kept in debug mode only (asyncio's _source_traceback); empty
  // otherwise. The reports about it carry it as their "source_traceback".
  virtual SourceLocation source_traceback() const { return {}; }

 protected:
  // The two halves of a cancel() that passes on. begin_cancel decides alone (`decided`, with
  // `result`) or names what to cancel next: one future (`one`) or several (`many`, owned by this
  // future and alive as long as it is). end_cancel then hears whether cancelling any of them
  // succeeded and gives this future's answer. The default is Future.cancel, decided at once.
  struct CancelPlan {
    bool decided = true;
    bool result = false;
    Ref<FutureCore> one;
    const std::vector<Ref<FutureCore>>* many = nullptr;

    static CancelPlan answer(bool result) { return {true, result, nullptr, nullptr}; }
    static CancelPlan pass_on(Ref<FutureCore> next) {
      return {false, false, std::move(next), nullptr};
    }
    static CancelPlan pass_on_to_each(const std::vector<Ref<FutureCore>>& next) {
      return {false, false, nullptr, &next};
    }
  };
  virtual CancelPlan begin_cancel(const std::string& message);
  virtual bool end_cancel(bool passed_on, const std::string& message);
  // Reached again while its own cancel() is still passing on (an await cycle): a future that can
  // be woken without what it awaits finishing (a task) takes the cancellation itself. Default:
  // false, nothing to do.
  virtual bool cancel_in_cycle(const std::string& message);
  // Called once, after the state is published and before callbacks run (Task hooks in here).
  virtual void on_completed() {}
  // Future.cancel proper: marks the future cancelled and runs its callbacks.
  bool cancel_future(std::string message);
  // Reports "<kind> exception was never retrieved" if it applies (once). A derived class calls
  // it from its destructor, where its repr() still works.
  void report_unretrieved_exception() noexcept;
  const std::shared_ptr<CallbackScheduler>& scheduler() const noexcept { return scheduler_; }

 private:
  void lock() const noexcept;
  void unlock() const noexcept;
  void complete_locked_and_run(FutureState final_state);
  void finish_with(void (*store)(void*), void* context, const char* operation);
  // Under the lock: wakes, in the order they began waiting, the waiters added before the
  // callback with id `limit`; true if it woke any.
  bool wake_waiters_before(std::uint64_t limit) noexcept;
  struct Entry {
    std::uint64_t id;  // also the callback's place in the order (shared with waiters' order_)
    Callback callback;
  };
  struct Delivery;     // a completion's callbacks, as one job (future_core.cpp)
  struct CallbackJob;  // one callback added after the completion, as one job
  // Runs the callbacks of `delivery` from its next one on, each after the waiters added before
  // it. Returns false if it handed the job back to the runtime to go on later (behind the tasks
  // it woke); true when it ran the last (the caller frees the job).
  bool run_delivery(Delivery& delivery) noexcept;
  // After the last callback: the waiters left wake, and add_waiter refuses from now on.
  void end_delivery() noexcept;
  void run_callback(Callback& callback);
  // Runs a done callback; what it throws goes to the exception handler, never further.
  void invoke_callback(Callback& callback) noexcept;
  // Where this future's reports go: its runtime's exception handler, or the default log.
  void call_exception_handler(const ExceptionContext& context) const noexcept;

  // The references (see add_ref); one word with the state and the lock below.
  mutable std::atomic<std::uint32_t> references_{1};
  std::atomic<FutureState> state_{FutureState::PENDING};
  mutable SpinLock locked_;  // guards everything below but the two atomics
  // Relaxed: only a flag for the never-retrieved report; it orders no other data.
  std::atomic<bool> exception_retrieved_{false};
  std::atomic<bool> shield_report_armed_{false};  // see arm_shield_report
  bool delivering_ = false;                       // done, and its callbacks' job has not ended yet
  std::exception_ptr exception_;
  // Most cancellations carry no message: a pointer costs them 8 bytes where a string costs 32.
  std::unique_ptr<std::string> cancel_message_;
  std::vector<Entry> callbacks_;
  std::uint64_t next_callback_id_ = 1;
  Waiter* waiters_ = nullptr;
  // The awaited-by records: 0 (none), one FutureCore* (the usual case, no allocation), or
  // (a std::vector<FutureCore*>*) | 1 for two or more.
  std::uintptr_t awaited_by_ = 0;
  std::shared_ptr<CallbackScheduler> scheduler_;
};

// What a coroutine yields to its driver when it awaits a future that is not done: asyncio's
// Task.__step sees the future and attaches its wake-up to it (after the switch: architecture.md
// §9).
struct AwaitFuture {
  FutureCore* future;
};

}  // namespace weft::detail
