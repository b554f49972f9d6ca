// asyncio.gather's rules for one child's end, shared by every GatheringFuture<Results>.
#include "weft/gather.hpp"

#include "weft/detail/runtime_access.hpp"

namespace weft::detail {

std::shared_ptr<CallbackScheduler> gather_callback_scheduler() {
  return as_callback_scheduler(running_scheduler("gather"));
}

GatherProgress::GatherProgress(std::vector<Ref<FutureCore>> children, bool return_exceptions)
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

Ref<FutureCore> gathering_task(bool hold, FutureCore*& task) noexcept {
  TaskCore* current = current_task_core();
  task = current;
  if (!current || !hold) return nullptr;
  return try_ref<FutureCore>(current);
}

void GatherProgress::forget_awaiter() noexcept {
  // Relaxed: only spares the walk once every child has ended (each took its record back).
  if (!awaiter_ || finished_.load(std::memory_order_relaxed) == children_.size()) return;
  for (auto& child : children_) child->discard_awaited_by(*awaiter_);
}

void await_gathering(std::vector<Ref<FutureCore>> children, bool return_exceptions) {
  if (children.empty()) return;
  // Results void: the caller takes each child's result itself once the gather is done.
  auto outer = start_gathering_core<void>(std::move(children), return_exceptions, nullptr, true);
  // A child that fails ends the gather while the others run on: their records name this task,
  // which may be gone by the time they end (asyncio keeps it alive instead).
  struct Forget {
    GatherProgress& progress;
    ~Forget() { progress.forget_awaiter(); }
  } forget{outer->progress()};
  await_core(*outer);
}

}  // namespace weft::detail
