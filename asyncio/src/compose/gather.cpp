// asyncio.gather's rules for one child's end, shared by every GatheringFuture<Results>.
#include "weft/gather.hpp"

#include "weft/detail/runtime_access.hpp"

namespace weft::detail {

std::shared_ptr<CallbackScheduler> gather_callback_scheduler() {
  return as_callback_scheduler(running_scheduler("gather"));
}

GatherProgress::GatherProgress(std::vector<std::shared_ptr<FutureCore>> children,
                               bool return_exceptions)
    : children_(std::move(children)), return_exceptions_(return_exceptions) {}

void GatherProgress::note_cancel(bool any) noexcept {
  // Relaxed: read by the last child's callback, which the children's completions order after.
  if (any) cancel_requested_.store(true, std::memory_order_relaxed);
}

GatherProgress::Verdict GatherProgress::on_child_done(const FutureCore& outer, FutureCore& child) {
  std::size_t finished = finished_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (outer.done()) {
    if (!child.cancelled()) child.exception();  // mark it retrieved, as asyncio does
    return {};
  }
  if (!return_exceptions_) {
    // A cancelled child finishes the gather with its CancelledError (the gather is done, not
    // cancelled), as asyncio's _done_callback does; so does the first exception.
    if (child.cancelled()) {
      return {Verdict::fail, std::make_exception_ptr(CancelledError(child.cancel_message()))};
    }
    if (auto error = child.exception()) return {Verdict::fail, std::move(error)};
  }
  if (finished != children_.size()) return {};
  if (cancel_requested_.load(std::memory_order_relaxed)) {
    // The gather itself was cancelled: that wins over return_exceptions.
    return {Verdict::fail, std::make_exception_ptr(CancelledError(child.cancel_message()))};
  }
  return {Verdict::succeed, nullptr};
}

void await_gathering(std::vector<std::shared_ptr<FutureCore>> children, bool return_exceptions) {
  if (children.empty()) return;
  // Results void: the caller takes each child's result itself once the gather is done.
  Future<void> outer = start_gathering<void>(std::move(children), return_exceptions, nullptr);
  await_core(outer.core());
}

}  // namespace weft::detail
