// The states of inspect.getcoroutinestate / getgeneratorstate / getasyncgenstate.
// Each prints as Python's constant name (CORO_CREATED, GEN_SUSPENDED, AGEN_CLOSED, ...).
#pragma once

#include <ostream>
#include <string_view>

namespace weft {

enum class CoroState { CORO_CREATED, CORO_RUNNING, CORO_SUSPENDED, CORO_CLOSED };
enum class GenState { GEN_CREATED, GEN_RUNNING, GEN_SUSPENDED, GEN_CLOSED };
enum class AgenState { AGEN_CREATED, AGEN_RUNNING, AGEN_SUSPENDED, AGEN_CLOSED };

inline constexpr CoroState CORO_CREATED = CoroState::CORO_CREATED;
inline constexpr CoroState CORO_RUNNING = CoroState::CORO_RUNNING;
inline constexpr CoroState CORO_SUSPENDED = CoroState::CORO_SUSPENDED;
inline constexpr CoroState CORO_CLOSED = CoroState::CORO_CLOSED;
inline constexpr GenState GEN_CREATED = GenState::GEN_CREATED;
inline constexpr GenState GEN_RUNNING = GenState::GEN_RUNNING;
inline constexpr GenState GEN_SUSPENDED = GenState::GEN_SUSPENDED;
inline constexpr GenState GEN_CLOSED = GenState::GEN_CLOSED;
inline constexpr AgenState AGEN_CREATED = AgenState::AGEN_CREATED;
inline constexpr AgenState AGEN_RUNNING = AgenState::AGEN_RUNNING;
inline constexpr AgenState AGEN_SUSPENDED = AgenState::AGEN_SUSPENDED;
inline constexpr AgenState AGEN_CLOSED = AgenState::AGEN_CLOSED;

std::string_view to_string(CoroState state) noexcept;
std::string_view to_string(GenState state) noexcept;
std::string_view to_string(AgenState state) noexcept;

inline std::ostream& operator<<(std::ostream& out, CoroState s) {
  return out << to_string(s);
}
inline std::ostream& operator<<(std::ostream& out, GenState s) {
  return out << to_string(s);
}
inline std::ostream& operator<<(std::ostream& out, AgenState s) {
  return out << to_string(s);
}

}  // namespace weft
