// Drives a listening echo or HTTP server of this process with the load generator (bench_netload, a
// process of its own) and turns what it reports into the workload's outcome.
#pragma once

#include <cstdint>
#include <string>

#include "common/harness.hpp"

namespace cmp::net {

// Runs `bench_netload --port <port> --workload <workload>` and waits for it. The figure is this
// process's CPU time (user + system: the server's, as the client is another process) per round
// trip (request) in ns; the extras are the number of round trips, the wall time per round trip
// and the client's p50 / p99 latency. The load generator is $CMP_NETLOAD, else bench_netload beside
// this program.
Outcome drive(std::uint16_t port, const std::string& workload);

}  // namespace cmp::net
