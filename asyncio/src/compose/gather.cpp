#include "weft/gather.hpp"

#include "weft/detail/runtime_access.hpp"

namespace weft::detail {

GatheringFuture::GatheringFuture(std::vector<std::shared_ptr<FutureCore>> children,
                                 bool return_exceptions)
    : FutureCore(as_callback_scheduler(running_scheduler("gather"))),
      children_(std::move(children)),
      return_exceptions_(return_exceptions) {}

void GatheringFuture::start() {
  auto self = std::static_pointer_cast<GatheringFuture>(shared_from_this());
  for (auto& child : children_) {
    child->add_done_callback([self](FutureCore& done) { self->on_child_done(done); });
  }
}

FutureCore::CancelPlan GatheringFuture::begin_cancel(const std::string&) {
  if (done()) return CancelPlan::answer(false);
  return CancelPlan::pass_on_to_each(children_);  // each child, then end_cancel
}

bool GatheringFuture::end_cancel(bool any_child_cancelled, const std::string&) {
  // Relaxed: read by the last child's callback, which the children's completions order after.
  if (any_child_cancelled) cancel_requested_.store(true, std::memory_order_relaxed);
  return any_child_cancelled;
}

void GatheringFuture::on_child_done(FutureCore& child) {
  std::size_t finished = finished_.fetch_add(1, std::memory_order_acq_rel) + 1;
  auto settle = [this](std::exception_ptr error) {
    try {
      if (error) {
        set_exception(std::move(error));
      } else {
        finish([] {}, "set_result");
      }
    } catch (const InvalidStateError&) {
      // Another child's callback, on another worker, settled the gather first.
    }
  };
  if (done()) {
    if (!child.cancelled()) child.exception();  // mark it retrieved, as asyncio does
    return;
  }
  if (!return_exceptions_) {
    if (child.cancelled()) {
      settle(std::make_exception_ptr(CancelledError(child.cancel_message())));
      return;
    }
    if (auto error = child.exception()) {
      settle(error);
      return;
    }
  }
  if (finished == children_.size()) {
    if (cancel_requested_.load(std::memory_order_relaxed)) {
      // The gather itself was cancelled: that wins over return_exceptions.
      settle(std::make_exception_ptr(CancelledError(child.cancel_message())));
    } else {
      settle(nullptr);
    }
  }
}

void await_gathering(std::vector<std::shared_ptr<FutureCore>> children, bool return_exceptions) {
  if (children.empty()) return;
  auto outer = std::allocate_shared<GatheringFuture>(BlockAllocator<GatheringFuture>(),
                                                     std::move(children), return_exceptions);
  outer->start();
  await_core(*outer);
}

}  // namespace weft::detail
