// Internal: a context (contextvars.Context) is an immutable map from variable to value, shared
// by pointer: copying a context -- done at every task creation -- is one reference count.
#pragma once

#include <any>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace weft::detail {

using ContextData = std::map<std::uint64_t, std::shared_ptr<const std::any>>;
using ContextPtr = std::shared_ptr<const ContextData>;

// The context code on this thread runs in: the current task's, or the thread's own.
ContextPtr current_context() noexcept;
// Replaces the current context (the task's, or the thread's own outside tasks).
void set_current_context(ContextPtr context) noexcept;

// Which contextvars.Context the current code runs in: each task has its own, and so does each
// thread outside tasks and each to_thread job. A token may only be reset in the one it came from;
// the map above cannot tell them apart, as a new task shares its creator's until it sets a value.
std::uint64_t current_context_id() noexcept;
// A fresh context identity (never 0).
std::uint64_t next_context_id() noexcept;

std::uint64_t next_context_var_id() noexcept;
// repr() texts, after CPython's: "<ContextVar name='x' default=1 at 0x...>", "<Token var=...>".
std::string context_var_repr(const std::string& name, const std::string* default_repr,
                             const void* address);
std::string token_repr(bool used, const std::string& var_repr, const void* address);
// Why reset() refuses a token: asyncio's RuntimeError / ValueError, with the token's repr.
enum class BadToken { used, other_var, other_context };
[[noreturn]] void throw_bad_token(const std::string& token_repr, BadToken why);
template <class T>
std::optional<std::string> value_repr(const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return "'" + std::string(std::string_view(value)) + "'";
  } else if constexpr (std::is_same_v<T, bool>) {
    return value ? "True" : "False";
  } else if constexpr (std::is_arithmetic_v<T>) {
    return std::to_string(value);
  } else {
    return std::nullopt;  // no text for it: repr() leaves the default out
  }
}

}  // namespace weft::detail
