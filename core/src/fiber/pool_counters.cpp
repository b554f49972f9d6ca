// The thread's pool counters (weft/detail/pool_counters.hpp).
#include "fiber/pool_counters.hpp"

namespace weft::detail {

constinit thread_local PoolCounters* tls_pool_counters = nullptr;

void count_pool_use_in(PoolCounters* counters) noexcept {
  tls_pool_counters = counters;
}

}  // namespace weft::detail
