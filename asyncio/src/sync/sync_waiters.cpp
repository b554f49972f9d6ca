#include "weft/detail/sync_waiters.hpp"

#include <any>

#include "weft/coroutine.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

SyncWaiter::SyncWaiter() : task_(direct_wait_task()) {
  if (task_) {
    token_ = task_->arm_direct_wait();
  } else {
    future_.emplace();
  }
}

SyncWaiter::~SyncWaiter() {
  // A wait that did not happen (the primitive raised before it), or one left by an exception
  // thrown in before any wake-up (the coroutine closed): no waker may resume us later.
  if (task_ && !woken_) task_->disarm(token_);
}

void SyncWaiter::wait() {
  if (!task_) {
    future_->await();
    return;
  }
  suspend(std::any(AwaitWakeUp{token_}));
  // Resumed by wake() (a cancel resumes us by raising instead).
}

bool SyncWaiter::wake() {
  if (task_) {
    if (woken_ || !task_->wake_up(token_)) return false;
    woken_ = true;
    return true;
  }
  if (future_->done()) return false;
  // Our own reference: the woken task may run on another worker at once, and the core must
  // outlive set_result() even if the waiter's frame were gone by then.
  Future<void> future = *future_;
  try {
    future.set_result();
    return true;
  } catch (const InvalidStateError&) {
    return false;  // cancelled by another thread after the done() check
  }
}

bool SyncWaiter::cancelled() const noexcept {
  // A token no longer armed and not claimed by a waker was claimed by cancel(). Relaxed, as the
  // future's state read was: a cancel() racing this check is seen by the next one.
  if (task_) return !woken_ && !task_->awaits_token(token_);
  return future_->cancelled();
}

bool SyncWaiter::give_up() noexcept {
  if (task_) return woken_;  // unlinked under the mutex: no waker can find it any more
  future_->cancel();
  return !future_->cancelled();
}

}  // namespace weft::detail
