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

// How the load generator drives the connections.
enum class Mode {
  ping_pong,  // one message (request) in flight per connection, `rounds` of them
  stream,     // each connection writes `rounds` messages back to back and reads the echo as it
              // comes: the figure is per message
  idle,       // the connections each do one round trip, then stay idle for kIdleSeconds; the load
              // generator reports the server's CPU and RSS over that time (from /proc)
  syscalls,   // ping_pong, the server's system calls counted (perf, else strace): per round trip
  wrk,        // HTTP by `wrk` (benchmarks/net/wrk_check.lua): `connections` connections for
              // kWrkSeconds, `pipeline` requests in flight on each
};

struct EchoLoad {
  std::string_view name;
  Protocol protocol;
  std::size_t connections;
  std::size_t rounds;  // measured round trips (requests, messages) per connection
  std::size_t size;    // bytes per message (echo)
  Mode mode = Mode::ping_pong;
  std::size_t pipeline = 1;  // wrk: requests in flight per connection
  // The figure each server reports: its CPU time per `unit`'s noun (the load generator's first
  // number). idle and syscalls: tools/bench takes the figure from the extras instead.
  std::string_view unit = "cpu ns/round trip";
};

// What every HTTP server answers, and the request the load generator sends.
inline constexpr std::string_view kHttpBody = "Hello, World!";
inline constexpr std::string_view kHttpRequest = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

// Each about 100k round trips: long enough to dwarf the setup, short enough for 2 shared cores.
inline constexpr EchoLoad kEchoLoads[] = {
    {"echo_single", Protocol::echo, 1, 50'000, 512},  // latency-bound: one message in flight
    {"echo", Protocol::echo, 50, 2'000, 512},
    {"echo_many", Protocol::echo, 1'000, 100, 512},
    {"http", Protocol::http, 50, 2'000, 0, Mode::ping_pong, 1, "cpu ns/request"},
    // 4 x 25k messages of 512 B: 51 MB echoed.
    {"stream", Protocol::echo, 4, 25'000, 512, Mode::stream, 1, "cpu ns/message"},
    // 10,000 connections; rounds unused.
    {"idle_conns", Protocol::echo, 10'000, 0, 512, Mode::idle, 1, "cpu ns/connection"},
    // One connection, 5,000 round trips, the server's system calls counted (netload.cpp).
    {"echo_syscalls", Protocol::echo, 1, 5'000, 512, Mode::syscalls},
    {"http_wrk", Protocol::http, 256, 0, 0, Mode::wrk, 1, "cpu ns/request"},
    {"http_wrk_pipelined", Protocol::http, 256, 0, 0, Mode::wrk, 16, "cpu ns/request"},
};

// idle_conns: how long the connections stay idle, measured.
inline constexpr auto kIdleSeconds = std::chrono::seconds(3);
// http_wrk*: how long wrk runs (its -d).
inline constexpr int kWrkSeconds = 3;

// A run that takes longer fails rather than hangs.
inline constexpr auto kTimeLimit = std::chrono::seconds(60);

inline const EchoLoad* find_echo_load(std::string_view name) {
  for (const auto& load : kEchoLoads) {
    if (load.name == name) return &load;
  }
  return nullptr;
}

}  // namespace cmp::net
