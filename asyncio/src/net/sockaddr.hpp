// Internal: SocketAddress <-> struct sockaddr, numeric hosts only (names resolve elsewhere).
#pragma once

#include <sys/socket.h>

#include <optional>

#include "weft/socket.hpp"

namespace weft::net {

struct RawAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;
  const sockaddr* get() const noexcept { return reinterpret_cast<const sockaddr*>(&storage); }
};

// The address if its host is numeric (or it is a path); nullopt for a name.
std::optional<RawAddress> to_raw(const SocketAddress& address);
SocketAddress from_raw(const sockaddr* raw, socklen_t length);

}  // namespace weft::net
