// The echo workloads of the comparison run: how many connections, round trips and bytes. Only
// the load generator (bench_netload) reads these; the servers echo whatever they get, so Go's and
// Tokio's servers need not repeat the figures.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace cmp::net {

struct EchoLoad {
  std::string_view name;
  std::size_t connections;
  std::size_t rounds;  // measured round trips per connection
  std::size_t size;    // bytes per message
};

// Each about 100k round trips: long enough to dwarf the setup, short enough for 2 shared cores.
inline constexpr EchoLoad kEchoLoads[] = {
    {"echo_single", 1, 50'000, 512},  // latency-bound: one message in flight at all
    {"echo", 50, 2'000, 512},
    {"echo_many", 1'000, 100, 512},
};

// A run that takes longer fails rather than hangs.
inline constexpr auto kTimeLimit = std::chrono::seconds(60);

inline const EchoLoad* find_echo_load(std::string_view name) {
  for (const auto& load : kEchoLoads) {
    if (load.name == name) return &load;
  }
  return nullptr;
}

}  // namespace cmp::net
