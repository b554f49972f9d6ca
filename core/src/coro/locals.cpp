#include "weft/detail/frame.hpp"
#include "weft/detail/locals_registry.hpp"
#include "weft/errors.hpp"

namespace weft::detail {

LocalBinding::LocalBinding(const char* name, const void* variable, Printer printer)
    : name_(name), variable_(variable), printer_(printer), frame_(Frame::running_innermost()) {
  if (!frame_) {
    throw RuntimeError("weft::local() publishes a coroutine's local: call it inside a coroutine");
  }
  next_ = frame_->locals();
  frame_->locals() = this;
}

LocalBinding::~LocalBinding() {
  // Bindings are scoped, so they almost always leave in LIFO order; search otherwise.
  for (LocalBinding** link = &frame_->locals(); *link; link = &(*link)->next_) {
    if (*link == this) {
      *link = next_;
      return;
    }
  }
}

std::map<std::string, std::string> collect_locals(Frame& frame) {
  std::map<std::string, std::string> result;
  FrameState s = frame.raw_state();
  if (s == FrameState::closed || s == FrameState::created) return result;
  for (LocalBinding* b = frame.locals(); b; b = b->next_) {
    result.emplace(b->name_, b->printer_(b->variable_));  // innermost binding of a name wins
  }
  return result;
}

}  // namespace weft::detail
