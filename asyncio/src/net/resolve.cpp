// Host names to addresses: numeric ones inline, names with getaddrinfo on a to_thread thread.
#include "net/resolve.hpp"

#include <netdb.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "weft/errors.hpp"
#include "weft/to_thread.hpp"

namespace weft::net {
namespace {

std::vector<Resolved> getaddrinfo_blocking(std::string host, std::uint16_t port, int family,
                                           bool passive) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = passive ? AI_PASSIVE : AI_ADDRCONFIG;
  addrinfo* list = nullptr;
  std::string service = std::to_string(port);
  int rc = ::getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &list);
  if (rc == EAI_SYSTEM) raise_os_error(errno);  // as Python: the errno's OSError
  if (rc != 0) throw gaierror(rc, ::gai_strerror(rc));
  std::vector<Resolved> out;
  for (addrinfo* it = list; it; it = it->ai_next) {
    Resolved entry{it->ai_family, {}};
    std::memcpy(&entry.address.storage, it->ai_addr, it->ai_addrlen);
    entry.address.length = it->ai_addrlen;
    out.push_back(entry);
  }
  ::freeaddrinfo(list);
  return out;
}

}  // namespace

std::vector<Resolved> resolve(const SocketAddress& address, bool passive) {
  if (address.family == AF_UNIX || !address.host.empty() || !passive) {
    SocketAddress target = address;
    if (target.host.empty() && !passive && target.family != AF_UNIX) target.host = "127.0.0.1";
    if (auto raw = to_raw(target)) return {Resolved{raw->storage.ss_family, *raw}};
  }
  return to_thread(getaddrinfo_blocking, address.host, address.port, address.family, passive);
}

}  // namespace weft::net
