// Shared by the runtime examples: the loop's clock as HH:MM:SS (the spec prints wall-clock
// times; ours start at 00:00:00 so the output is reproducible) and the --virtual-time flag.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <string_view>

#include <weft/weft.hpp>

namespace examples {

// Seconds since the runtime started, rounded to whole seconds, as HH:MM:SS.
inline std::string hms(double seconds) {
  long long s = std::llround(seconds);
  char text[32];
  std::snprintf(text, sizeof text, "%02lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  return text;
}
// The running runtime's clock (asyncio: loop.time()); only inside a task.
inline std::string now() {
  return hms(weft::get_running_loop().time());
}
// Any runtime's clock, from any thread.
inline std::string now(const weft::Runtime& runtime) {
  return hms(runtime.time());
}

// True if the program was started with --virtual-time (sleeps then finish at once).
inline bool virtual_time(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--virtual-time") return true;
  }
  return false;
}

}  // namespace examples
