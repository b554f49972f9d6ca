#include "weft/states.hpp"

namespace weft {

std::string_view to_string(CoroState state) noexcept {
  switch (state) {
    case CoroState::CORO_CREATED:
      return "CORO_CREATED";
    case CoroState::CORO_RUNNING:
      return "CORO_RUNNING";
    case CoroState::CORO_SUSPENDED:
      return "CORO_SUSPENDED";
    case CoroState::CORO_CLOSED:
      return "CORO_CLOSED";
  }
  return "CORO_UNKNOWN";
}

std::string_view to_string(GenState state) noexcept {
  switch (state) {
    case GenState::GEN_CREATED:
      return "GEN_CREATED";
    case GenState::GEN_RUNNING:
      return "GEN_RUNNING";
    case GenState::GEN_SUSPENDED:
      return "GEN_SUSPENDED";
    case GenState::GEN_CLOSED:
      return "GEN_CLOSED";
  }
  return "GEN_UNKNOWN";
}

std::string_view to_string(AgenState state) noexcept {
  switch (state) {
    case AgenState::AGEN_CREATED:
      return "AGEN_CREATED";
    case AgenState::AGEN_RUNNING:
      return "AGEN_RUNNING";
    case AgenState::AGEN_SUSPENDED:
      return "AGEN_SUSPENDED";
    case AgenState::AGEN_CLOSED:
      return "AGEN_CLOSED";
  }
  return "AGEN_UNKNOWN";
}

}  // namespace weft
