// The network workloads of the comparison run: the protocol, how many connections, round trips
// and bytes. Only the load generator (bench_netload) reads these; the servers echo whatever they
// get or answer every request alike, so Go's and Tokio's servers need not repeat the figures.
#pragma once

#include <chrono>
#include <cstddef>
#include <string_view>

namespace cmp::net {

enum class Protocol {
  echo,  // a message of `size` bytes, echoed back
  http,  // a GET with keep-alive; a 200 response with Content-Length and kHttpBody
};

struct EchoLoad {
  std::string_view name;
  Protocol protocol;
  std::size_t connections;
  std::size_t rounds;  // measured round trips (requests) per connection
  std::size_t size;    // bytes per message (echo)
};

// What every HTTP server answers, and the request the load generator sends.
inline constexpr std::string_view kHttpBody = "Hello, World!";
inline constexpr std::string_view kHttpRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// Each about 100k round trips: long enough to dwarf the setup, short enough for 2 shared cores.
inline constexpr EchoLoad kEchoLoads[] = {
    {"echo_single", Protocol::echo, 1, 50'000, 512},  // latency-bound: one message in flight
    {"echo", Protocol::echo, 50, 2'000, 512},
    {"echo_many", Protocol::echo, 1'000, 100, 512},
    {"http", Protocol::http, 50, 2'000, 0},  // sequential keep-alive requests, no pipelining
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
