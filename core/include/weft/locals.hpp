// getcoroutinelocals / getgeneratorlocals: a body opts in by publishing the locals it wants seen.
//
//   int count = 0;
//   auto published = weft::local("count", count);   // visible while this scope lives
//
// The getters print each published variable with operator<< and return name -> text while the
// frame lives; a closed (or never started) frame has none. Read them while the frame is
// suspended, or from its own body: a frame running on another thread is changing them.
#pragma once

#include <sstream>
#include <string>

#include "weft/detail/locals_registry.hpp"

namespace weft {

using Locals = std::map<std::string, std::string>;

template <class T>
[[nodiscard]] detail::LocalBinding local(const char* name, const T& variable) {
  return detail::LocalBinding(name, &variable, [](const void* address) {
    std::ostringstream out;
    out << *static_cast<const T*>(address);
    return out.str();
  });
}

}  // namespace weft
