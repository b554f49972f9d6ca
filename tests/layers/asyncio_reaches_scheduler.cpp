// Must not compile: the asyncio layer reaches the runtime through its public headers only; the
// scheduler's machinery (runtime/src) is not on its include path.
#include "sched/scheduler.hpp"
