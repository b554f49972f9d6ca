#include "weft/detail/future_core.hpp"

#include <algorithm>

#include <cstdio>
#include <string_view>
#include <thread>
#include <utility>

#include "weft/detail/block_pool.hpp"
#include "weft/errors.hpp"
#include "weft/warnings.hpp"

namespace weft::detail {
namespace {

// Set by each runtime worker for the thread's life; no fiber migrates between runtimes, so a
// stale read after a migration still names the same runtime.
thread_local std::shared_ptr<CallbackScheduler> tls_callback_scheduler;

const char* state_name(FutureState state) {
  switch (state) {
    case FutureState::PENDING:
      return "PENDING";
    case FutureState::CANCELLED:
      return "CANCELLED";
    case FutureState::FINISHED:
      return "FINISHED";
  }
  return "?";
}

}  // namespace

// A completion's done callbacks as one job on the runtime: asyncio call_soon()s each; one job
// that runs them in order (and queues itself again behind the tasks a callback's turn woke)
// costs a completion one block from the pool. It keeps the future alive until the last has run.
struct FutureCore::Delivery final : Runnable, PooledObject {
  Delivery(Ref<FutureCore> future_, std::vector<Entry> callbacks_)
      : future(std::move(future_)), callbacks(std::move(callbacks_)) {}
  void run() override {
    std::unique_ptr<Delivery> owned(this);
    if (!future->run_delivery(*this)) owned.release();  // queued again: the queue owns it now
  }
  std::string describe() const override { return "<Handle the done callbacks of a future>"; }
  Ref<FutureCore> future;
  std::vector<Entry> callbacks;
  std::size_t next = 0;  // the first callback not yet run
};

// One callback added to a future already done (asyncio schedules it at once).
struct FutureCore::CallbackJob final : Runnable, PooledObject {
  CallbackJob(Ref<FutureCore> future_, Callback callback_)
      : future(std::move(future_)), callback(std::move(callback_)) {}
  void run() override {
    std::unique_ptr<CallbackJob> owned(this);
    future->invoke_callback(callback);
  }
  std::string describe() const override { return "<Handle a done callback of a future>"; }
  Ref<FutureCore> future;
  Callback callback;
};

std::shared_ptr<CallbackScheduler> thread_callback_scheduler() noexcept {
  return tls_callback_scheduler;
}
void set_thread_callback_scheduler(std::shared_ptr<CallbackScheduler> scheduler) noexcept {
  tls_callback_scheduler = std::move(scheduler);
}

FutureCore::FutureCore() : scheduler_(tls_callback_scheduler) {}
FutureCore::FutureCore(std::shared_ptr<CallbackScheduler> scheduler)
    : scheduler_(std::move(scheduler)) {}

bool FutureCore::try_add_ref() const noexcept {
  // Relaxed: the load only seeds the CAS. Acquire on success: as a weak_ptr's lock, what the
  // holders wrote before their releases is seen by the new holder.
  std::uint32_t count = references_.load(std::memory_order_relaxed);
  while (count != 0) {
    if (references_.compare_exchange_weak(count, count + 1, std::memory_order_acquire,
                                          std::memory_order_relaxed)) {
      return true;
    }
  }
  return false;
}

FutureCore::~FutureCore() {
  report_unretrieved_exception();
  if (awaited_by_ & 1) delete reinterpret_cast<std::vector<FutureCore*>*>(awaited_by_ - 1);
}

void FutureCore::report_unretrieved_exception() noexcept {
  if (!exception_ || exception_retrieved_.exchange(true, std::memory_order_relaxed)) return;
  try {
    // asyncio's Future.__del__: {'message', 'exception', 'future'} to the loop's handler.
    ExceptionContext context;
    context.message = std::string(kind_name()) + " exception was never retrieved";
    context.exception = exception_;
    context.future = repr();
    context.source_traceback = source_traceback();
    call_exception_handler(context);
  } catch (...) {
    // Reporting is best effort (building the context may fail for want of memory); a
    // destructor must not throw.
  }
}

Runtime& FutureCore::get_loop() const {
  if (Runtime* loop = scheduler_ ? scheduler_->loop() : nullptr) return *loop;
  throw RuntimeError(std::string("no running event loop: this ") + kind_name() +
                     " was made outside any runtime (or its runtime is gone), so it belongs to "
                     "no loop; make it inside a task to bind it to that task's runtime");
}

void FutureCore::report_shielded_exception() noexcept {
  if (state() != FutureState::FINISHED || !exception_) return;
  exception_retrieved_.store(true, std::memory_order_relaxed);  // reported here, not at the end
  try {
    ExceptionContext context;
    context.message = exception_type_name(exception_) + " exception in shielded future";
    context.exception = exception_;
    context.future = repr();
    call_exception_handler(context);
  } catch (...) {
    // Best effort, as report_unretrieved_exception.
  }
}

void FutureCore::call_exception_handler(const ExceptionContext& context) const noexcept {
  if (scheduler_) {
    scheduler_->call_exception_handler(context);
  } else {
    log_exception_context_noexcept(context);
  }
}

void FutureCore::lock() const noexcept {
  locked_.lock();
}
void FutureCore::unlock() const noexcept {
  locked_.unlock();
}

std::string FutureCore::repr() const {
  switch (state()) {
    case FutureState::PENDING:
      return std::string("<") + kind_name() + " pending>";
    case FutureState::CANCELLED:
      return std::string("<") + kind_name() + " cancelled>";
    case FutureState::FINISHED:
      if (exception_) {
        return std::string("<") + kind_name() +
               " finished exception=" + describe_exception(exception_) + ">";
      }
      return std::string("<") + kind_name() + " finished>";
  }
  return "<Future>";
}

FutureCore::CancelPlan FutureCore::begin_cancel(const std::string& message) {
  return CancelPlan::answer(cancel_future(message));
}

bool FutureCore::end_cancel(bool passed_on, const std::string&) {
  return passed_on;  // only reached by a subclass that passes on without overriding this
}

bool FutureCore::cancel_in_cycle(const std::string&) {
  return false;
}

const std::string& FutureCore::cancel_message() const noexcept {
  static const std::string none;
  return cancel_message_ ? *cancel_message_ : none;
}

bool FutureCore::cancel_future(std::string message) {
  // Allocated before the lock, and only for a message.
  auto text = message.empty() ? nullptr : std::make_unique<std::string>(std::move(message));
  lock();
  if (state_.load(std::memory_order_relaxed) != FutureState::PENDING) {
    unlock();
    return false;
  }
  cancel_message_ = std::move(text);
  complete_locked_and_run(FutureState::CANCELLED);
  return true;
}

void FutureCore::finish_with(void (*store)(void*), void* context, const char* operation) {
  lock();
  FutureState s = state_.load(std::memory_order_relaxed);
  if (s != FutureState::PENDING) {
    unlock();
    // asyncio's message first, then which call and which future.
    throw InvalidStateError("invalid state: " + std::string(operation) + "() on a future that is " +
                            state_name(s) + " already (" + repr() +
                            "); a future completes once: check done() first");
  }
  try {
    store(context);
  } catch (...) {
    unlock();
    throw;
  }
  complete_locked_and_run(FutureState::FINISHED);
}

void FutureCore::set_exception(std::exception_ptr error) {
  // A CancelledError is accepted, as asyncio does: the future finishes (it is not cancelled) and
  // result() raises it. gather() reports a cancelled child this way. The state is checked first
  // (inside finish), the argument second, as asyncio: a done future is an InvalidStateError
  // whatever the argument.
  finish(
      [&] {
        if (!error)
          throw TypeError("set_exception() needs an exception: pass a non-null exception_ptr");
        exception_ = std::move(error);
      },
      "set_exception");
}

void FutureCore::complete_locked_and_run(FutureState final_state) {
  // Release: the value/exception/message written under the lock are visible to any thread that
  // acquires the state and sees it done, without taking the lock.
  state_.store(final_state, std::memory_order_release);
  if (callbacks_.empty()) {
    wake_waiters_before(UINT64_MAX);
    unlock();
    on_completed();
    return;
  }
  // asyncio schedules an awaiting task's wake-up as one more done callback, so callbacks and
  // awaiters run in the order they were added (architecture.md §6). The waiters added before the
  // first callback wake now; the callbacks run from scheduled jobs, each waking the waiters added
  // before it first.
  std::vector<Entry> callbacks = std::move(callbacks_);
  callbacks_.clear();
  wake_waiters_before(callbacks.front().id);
  // Until the last job ends, a task that awaits now still registers (add_waiter), behind them
  // all, as asyncio's wake-up added to a done future is scheduled behind its pending callbacks.
  delivering_ = true;
  unlock();
  on_completed();
  Delivery* delivery;
  try {
    delivery = new Delivery(Ref<FutureCore>(this), std::move(callbacks));
  } catch (...) {
    // No memory to schedule them: run them here, in order still. (The allocation comes before
    // the vector is moved into the job, so `callbacks` is intact.)
    for (Entry& entry : callbacks) {
      lock();
      wake_waiters_before(entry.id);
      unlock();
      invoke_callback(entry.callback);
    }
    end_delivery();
    return;
  }
  if (!scheduler_ || !scheduler_->call_soon(delivery)) delivery->run();
}

bool FutureCore::wake_waiters_before(std::uint64_t limit) noexcept {
  // The list is pushed at the front, so its order_ falls along it: the waiters to wake are its
  // tail. Reversed, they wake in the order they began waiting (on one worker, tasks awaiting
  // one future resume first come, first served). Waiters are woken under the lock, so
  // remove_waiter() returning false means the wake-up has been delivered, not merely begun: the
  // owner may then reuse or free its Waiter; and each may be destroyed once woken, so the link
  // is read first.
  Waiter** cut = &waiters_;
  while (*cut && (*cut)->order_ >= limit) cut = &(*cut)->next_;
  Waiter* in_order = nullptr;
  for (Waiter* waiter = std::exchange(*cut, nullptr); waiter;) {
    Waiter* next = waiter->next_;
    waiter->next_ = in_order;
    in_order = waiter;
    waiter = next;
  }
  bool woke = in_order != nullptr;
  for (Waiter* waiter = in_order; waiter;) {
    Waiter* next = waiter->next_;
    waiter->on_future_done(*this);
    waiter = next;
  }
  return woke;
}

bool FutureCore::run_delivery(Delivery& delivery) noexcept {
  for (; delivery.next < delivery.callbacks.size(); ++delivery.next) {
    Entry& entry = delivery.callbacks[delivery.next];
    // The tasks that began waiting before this callback step first, here (asyncio's ready queue
    // holds their wake-ups and the callbacks side by side, in this order).
    bool inline_wakes = scheduler_ && scheduler_->begin_inline_wakes();
    lock();
    bool woke = wake_waiters_before(entry.id);
    unlock();
    if (inline_wakes) {
      scheduler_->run_inline_wakes();
    } else if (woke && scheduler_ && scheduler_->call_soon(&delivery)) {
      // Queued behind the tasks just woken, as close to that order as a queue gets; from here
      // the job may already run on another worker, so nothing of it or of us is touched again.
      return false;
    }
    invoke_callback(entry.callback);
  }
  end_delivery();
  return true;
}

void FutureCore::end_delivery() noexcept {
  bool inline_wakes = scheduler_ && scheduler_->begin_inline_wakes();
  lock();
  wake_waiters_before(UINT64_MAX);
  delivering_ = false;
  unlock();
  if (inline_wakes) scheduler_->run_inline_wakes();
}

void FutureCore::run_callback(Callback& callback) {
  if (scheduler_) {
    auto* job = new CallbackJob(Ref<FutureCore>(this), std::move(callback));
    if (!scheduler_->call_soon(job)) job->run();
    return;
  }
  invoke_callback(callback);
}

void FutureCore::invoke_callback(Callback& callback) noexcept {
  try {
    callback(*this);
  } catch (...) {
    // asyncio's Handle._run: the loop's exception handler hears of it and the loop goes on. The
    // callback may have run on a worker, on a to_thread thread or on whichever foreign thread
    // completed the future: in none of them may it end the process.
    std::exception_ptr error = std::current_exception();
    try {
      ExceptionContext context;
      context.exception = error;
      std::string subject = repr();
      // asyncio names the callback and its argument, the future; C++ callables have no name.
      std::string callback_text = "added by add_done_callback to " + subject;
      context.message = "Exception in callback " + callback_text;
      context.handle = "<Handle " + callback_text + ">";
      (std::string_view(kind_name()) == "Task" ? context.task : context.future) = subject;
      call_exception_handler(context);
    } catch (...) {
      std::fputs("ERROR: Exception in callback (no memory to describe it)\n", stderr);
    }
  }
}

std::exception_ptr FutureCore::exception() {
  FutureState s = state();
  if (s == FutureState::PENDING) {
    throw InvalidStateError(
        "Exception is not set. The future is still pending: await it, or check done(), first");
  }
  if (s == FutureState::CANCELLED) throw CancelledError(cancel_message());
  exception_retrieved_.store(true, std::memory_order_relaxed);
  return exception_;
}

void FutureCore::check_result() {
  FutureState s = state();
  if (s == FutureState::PENDING) {
    throw InvalidStateError(
        "Result is not set. The future is still pending: await it, or check done(), first");
  }
  if (s == FutureState::CANCELLED) throw CancelledError(cancel_message());
  exception_retrieved_.store(true, std::memory_order_relaxed);
  if (exception_) std::rethrow_exception(exception_);
}

std::uint64_t FutureCore::add_done_callback(Callback callback) {
  lock();
  std::uint64_t id = next_callback_id_++;
  if (state_.load(std::memory_order_relaxed) == FutureState::PENDING) {
    callbacks_.push_back({id, std::move(callback)});
    unlock();
    return id;
  }
  unlock();
  run_callback(callback);  // already done: asyncio schedules it at once
  return id;
}

std::size_t FutureCore::remove_done_callback(std::uint64_t id) {
  lock();
  std::size_t removed = std::erase_if(callbacks_, [id](const Entry& e) { return e.id == id; });
  unlock();
  return removed;
}

std::size_t FutureCore::remove_done_callbacks_if(bool (*matches)(const Callback&, const void*),
                                                 const void* match) {
  lock();
  // Decide first, then erase: an operator== that throws leaves every callback in place.
  std::vector<bool> remove;
  try {
    remove.reserve(callbacks_.size());
    for (const Entry& e : callbacks_) remove.push_back(matches(e.callback, match));
  } catch (...) {
    unlock();
    throw;
  }
  std::size_t at = 0;
  std::size_t removed = std::erase_if(callbacks_, [&](const Entry&) { return remove[at++]; });
  unlock();
  return removed;
}

bool FutureCore::add_waiter(Waiter& waiter) {
  lock();
  if (state_.load(std::memory_order_relaxed) != FutureState::PENDING && !delivering_) {
    unlock();
    return false;
  }
  waiter.order_ = next_callback_id_++;
  waiter.next_ = waiters_;
  waiters_ = &waiter;
  unlock();
  return true;
}

bool FutureCore::remove_waiter(Waiter& waiter) {
  lock();
  for (Waiter** link = &waiters_; *link; link = &(*link)->next_) {
    if (*link == &waiter) {
      *link = waiter.next_;
      unlock();
      return true;
    }
  }
  unlock();
  return false;
}

void FutureCore::add_awaited_by(FutureCore& waiter) {
  auto* one = &waiter;
  std::unique_ptr<std::vector<FutureCore*>> grown;
  lock();
  for (;;) {
    if (awaited_by_ == 0) {
      awaited_by_ = reinterpret_cast<std::uintptr_t>(one);
      break;
    }
    if (awaited_by_ == reinterpret_cast<std::uintptr_t>(one)) break;  // a set
    if (awaited_by_ & 1) {
      auto& many = *reinterpret_cast<std::vector<FutureCore*>*>(awaited_by_ - 1);
      if (std::find(many.begin(), many.end(), one) == many.end()) many.push_back(one);
      break;
    }
    if (!grown) {
      // The rare second awaiter: allocate outside the lock, then look again.
      unlock();
      grown = std::make_unique<std::vector<FutureCore*>>();
      grown->reserve(4);
      lock();
      continue;
    }
    grown->push_back(reinterpret_cast<FutureCore*>(awaited_by_));
    grown->push_back(one);
    awaited_by_ = reinterpret_cast<std::uintptr_t>(grown.release()) | 1;
    break;
  }
  unlock();
}

void FutureCore::discard_awaited_by(const FutureCore& waiter) noexcept {
  auto* one = const_cast<FutureCore*>(&waiter);
  lock();
  if (awaited_by_ == reinterpret_cast<std::uintptr_t>(one)) {
    awaited_by_ = 0;
  } else if (awaited_by_ & 1) {
    // The vector stays once made (freed with the future): a future awaited twice may be again.
    auto& many = *reinterpret_cast<std::vector<FutureCore*>*>(awaited_by_ - 1);
    auto at = std::find(many.begin(), many.end(), one);
    if (at != many.end()) many.erase(at);
  }
  unlock();
}

namespace {
// Gives a FutureCore's lock back however the code under it ends (a capture allocates).
template <class Core>
struct Unlocker {
  const Core& core;
  ~Unlocker() { core.unlock_for_graph(); }
};
}  // namespace

void FutureCore::visit_awaited_by(AwaiterVisit visit, void* context) {
  lock();
  Unlocker<FutureCore> unlock_at_end{*this};
  // The list is newest first; asyncio's order is the order they came in.
  std::vector<FutureCore*> suspended;
  for (Waiter* w = waiters_; w; w = w->next_) {
    if (FutureCore* task = w->awaiting()) suspended.push_back(task);
  }
  for (auto at = suspended.rbegin(); at != suspended.rend(); ++at) visit(context, **at, true);
  if (awaited_by_ & 1) {
    for (FutureCore* f : *reinterpret_cast<std::vector<FutureCore*>*>(awaited_by_ - 1))
      visit(context, *f, false);
  } else if (awaited_by_ != 0) {
    visit(context, *reinterpret_cast<FutureCore*>(awaited_by_), false);
  }
}

bool FutureCore::while_registered(const Waiter& waiter, void (*fn)(void*), void* context) const {
  lock();
  Unlocker<FutureCore> unlock_at_end{*this};
  for (Waiter* w = waiters_; w; w = w->next_) {
    if (w == &waiter) {
      fn(context);
      return true;
    }
  }
  return false;
}

}  // namespace weft::detail
