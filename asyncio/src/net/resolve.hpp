// Internal: host names to addresses. Numeric hosts are parsed inline; names go to getaddrinfo on
// a to_thread thread (asyncio's loop.getaddrinfo runs it in the default executor).
#pragma once

#include <vector>

#include "net/sockaddr.hpp"

namespace weft::net {

struct Resolved {
  int family;
  RawAddress address;
};

// Every address of `host`:`port` for SOCK_STREAM, in getaddrinfo's order. `passive`: for a
// server (an empty host is every interface). OSError with getaddrinfo's message on failure.
std::vector<Resolved> resolve(const SocketAddress& address, bool passive = false);

}  // namespace weft::net
