// Where weft reports what Python reports through `warnings` and asyncio's logger: a coroutine
// that was never awaited, a task exception that nobody retrieved, an exception ignored during
// cleanup. The default sink prints to stderr the way Python does; tests install their own.
#pragma once

#include <functional>
#include <string>
#include "weft/source_location.hpp"

namespace weft {

struct Warning {
  std::string category;  // "RuntimeWarning", "ERROR" (asyncio's logger), ...
  std::string message;   // e.g. "coroutine 'fetch' was never awaited"
  std::string file;      // where the object concerned was created; may be empty
  unsigned line = 0;
};

using WarningHandler = std::function<void(const Warning&)>;

// Installs `handler` (or the default stderr printer when empty); returns the previous one.
// Thread-safe; the handler may be called from any thread.
WarningHandler set_warning_handler(WarningHandler handler);

// Delivers a warning to the installed handler.
void warn(Warning warning);

}  // namespace weft
