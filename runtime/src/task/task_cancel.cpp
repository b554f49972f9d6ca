// asyncio's Task.cancel on the multithreaded runtime: a request is counted (cancelling()), then
// either passed on to the future the task awaits (asyncio's _fut_waiter.cancel) or left for the
// next step to raise (_must_cancel), and a sleep is woken at once. The bookkeeping is
// cancel_requests.hpp; the step that raises the CancelledError is task_step.cpp.
//
// Every decision here is made under the task's lock, the one the stepping worker takes to publish
// the future it now awaits: so a request either finds that future or leaves _must_cancel for the
// worker to pass on, never slips between the two (architecture.md §7).
#include "weft/detail/task_core.hpp"

namespace weft::detail {

FutureCore::CancelPlan TaskCore::begin_cancel(const std::string& message) {
  auto request = CancelRequests::make_messages(message);  // before the lock: it may allocate
  lock();
  if (done() || returned_) {  // returned_: done, bar publishing the result
    unlock();
    return CancelPlan::answer(false);
  }
  cancel_requests_.count();
  Ref<FutureCore> waiting = fut_waiter_;
  if (!waiting) {
    // Decided under the lock the stepping worker takes to publish the future it now awaits:
    // either it sees _must_cancel and passes the cancellation on to that future, or we saw the
    // future here. Checking and setting under two separate holds let a worker register its
    // future in between, and the task then left its await without cancelling what it awaited.
    //
    // The token armed when we looked (read under the lock: one a future wait arms after
    // publishing its future, below it, must not be fired -- that wait takes _must_cancel itself).
    // Acquire: the wait that armed it is visible.
    std::uint64_t token = armed_token_.load(std::memory_order_acquire);
    if (claim_wake_up(token)) {
      // A sleep: cancelled now, as asyncio cancels the sleep's future, with this message; later
      // requests until the next step do not replace it (the first message wins while waiting).
      cancel_requests_.interrupt_wait(request);
      unlock();
      schedule_claimed();
      return CancelPlan::answer(true);
    }
    // Running, or not started, or already woken: the next step raises it (the last message wins).
    cancel_requests_.must_cancel(request);
    unlock();
    return CancelPlan::answer(true);
  }
  cancel_requests_.begin_in_flight();  // counted, not yet decided: see end_cancel's refusal
  unlock();
  return CancelPlan::pass_on(std::move(waiting));
}

bool TaskCore::end_cancel(bool passed_on, const std::string& message) {
  if (passed_on) {
    // The awaited future's cancellation wakes the task; CancelledError comes out of its await.
    lock();
    cancel_requests_.settle_in_flight();
    unlock();
    return true;
  }
  auto request = CancelRequests::make_messages(message);  // before the lock: it may allocate
  lock();
  const bool observed = cancel_requests_.settle_in_flight();
  if (returned_ && !observed) {
    // The coroutine returned, on another worker, since we looked, and nothing saw our count in
    // between: the cancel comes after the return; take it back, as for a done task. Had
    // cancelling() or uncancel() read the count meanwhile (a timeout scope deciding between
    // TimeoutError and CancelledError, say), the request had its effect and stays accepted:
    // the task then finishes as one whose coroutine suppressed the cancellation.
    cancel_requests_.take_back();
    unlock();
    return false;
  }
  if (returned_) {
    unlock();
    return true;
  }
  cancel_requests_.must_cancel(request);
  unlock();
  // Not woken here: the future we wait on could not be cancelled because it is done (its
  // wake-up is on its way) or about to be (a gather whose children all ended); the next step
  // raises CancelledError after it, as asyncio's Task.cancel leaves it to the pending __step.
  // Waking now would leave that future's outcome behind, unretrieved.
  return true;
}

bool TaskCore::cancel_in_cycle(const std::string& message) {
  // Our own cancel() is still passing on down a chain that led back to us: what we await waits,
  // directly or not, for us, so it will not finish first. Raise CancelledError out of our await
  // now; the futures above us in the cycle then end with us.
  auto request = CancelRequests::make_messages(message);  // before the lock: it may allocate
  lock();
  if (done() || returned_) {
    unlock();
    return false;
  }
  cancel_requests_.must_cancel(request);
  // Acquire, as in begin_cancel: the token of the wait we are in, armed after fut_waiter_ was set.
  std::uint64_t token = armed_token_.load(std::memory_order_acquire);
  unlock();
  fire(token);
  return true;
}

void TaskCore::cancel_for_teardown() {
  lock();
  bool first = cancel_requests_.first_teardown();
  unlock();
  if (first) cancel("");
}

int TaskCore::cancelling() const {
  lock();
  int n = cancel_requests_.cancelling();
  unlock();
  return n;
}

int TaskCore::uncancel() {
  lock();
  int n = cancel_requests_.uncancel();
  unlock();
  return n;
}

}  // namespace weft::detail
