// Must compile: the control for the checks beside it -- the asyncio layer sees the runtime's
// public headers and its bridge.
#include "weft/detail/runtime_access.hpp"
#include "weft/task.hpp"

int layer_control() {
  return 0;
}
