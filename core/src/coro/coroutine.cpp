#include "weft/coroutine.hpp"

namespace weft {

std::any suspend(std::any yielded) {
  void* sent = detail::Frame::suspend_running(&yielded);
  return sent ? std::move(*static_cast<std::any*>(sent)) : std::any{};
}

}  // namespace weft
