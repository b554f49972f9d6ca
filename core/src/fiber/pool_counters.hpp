// Internal to core: where the pools count this thread's allocations
// (weft/detail/pool_counters.hpp).
#pragma once

#include "weft/detail/pool_counters.hpp"

namespace weft::detail {

// Null unless the thread asked to be counted (count_pool_use_in). constinit: a plain TLS load,
// with no initialisation check, on the pools' fast paths. allocate_block and allocate_stack are
// never inlined into fiber code, so each call reads the current thread's (architecture.md §3).
extern constinit thread_local PoolCounters* tls_pool_counters;

}  // namespace weft::detail
