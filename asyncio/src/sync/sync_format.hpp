// Internal: the repr() text of the synchronization primitives, after asyncio's
// "<asyncio.locks.Lock object at 0x... [locked, waiters:1]>".
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace weft::detail {

inline std::string format_repr(const char* kind, const void* self, std::string extra,
                               std::size_t waiters) {
  if (waiters) extra += ", waiters:" + std::to_string(waiters);
  char address[32];
  std::snprintf(address, sizeof address, "%p", self);
  return std::string("<weft::") + kind + " at " + address + " [" + extra + "]>";
}

}  // namespace weft::detail
