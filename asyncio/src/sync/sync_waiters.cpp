#include "weft/detail/sync_waiters.hpp"

#include "weft/errors.hpp"

namespace weft::detail {

bool try_wake(SyncWaiter& waiter) {
  if (waiter.future.done()) return false;
  // Our own reference: the woken task may run on another worker at once, and the core must
  // outlive set_result() even if the waiter's frame were gone by then.
  Future<void> future = waiter.future;
  try {
    future.set_result();
    return true;
  } catch (const InvalidStateError&) {
    return false;  // cancelled by another thread after the done() check
  }
}

}  // namespace weft::detail
