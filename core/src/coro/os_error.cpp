// OSError and the subclasses Python picks by errno (PEP 3151's mapping, the part sockets meet),
// and asyncio's stream errors.
#include <cerrno>
#include <cstring>
#include <string>

#include "weft/errors.hpp"

namespace weft {
namespace {

// Python's str(OSError(errno, strerror)).
std::string os_error_message(int error_number, const std::string& strerror) {
  return "[Errno " + std::to_string(error_number) + "] " + strerror;
}

std::string describe_errno(int error_number) {
  char buffer[256];
  // GNU strerror_r: thread-safe, returns the message (maybe not in `buffer`).
  return ::strerror_r(error_number, buffer, sizeof buffer);
}

}  // namespace

OSError::OSError(int error_number, const std::string& strerror)
    : std::runtime_error(os_error_message(error_number, strerror)),
      error_number_(error_number),
      strerror_(strerror) {}

void raise_os_error(int error_number, const std::string& strerror) {
  const std::string text = strerror.empty() ? describe_errno(error_number) : strerror;
  switch (error_number) {
    case EPIPE:
    case ESHUTDOWN:
      throw BrokenPipeError(error_number, text);
    case ECONNABORTED:
      throw ConnectionAbortedError(error_number, text);
    case ECONNREFUSED:
      throw ConnectionRefusedError(error_number, text);
    case ECONNRESET:
      throw ConnectionResetError(error_number, text);
    default:
      throw OSError(error_number, text);
  }
}

IncompleteReadError::IncompleteReadError(std::string partial_, std::optional<std::size_t> expected_)
    : std::runtime_error(std::to_string(partial_.size()) + " bytes read on a total of " +
                         (expected_ ? std::to_string(*expected_) : std::string("undefined")) +
                         " expected bytes"),
      partial(std::move(partial_)),
      expected(expected_) {}

}  // namespace weft
