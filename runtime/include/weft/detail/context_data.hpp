// Internal: a context's bindings are an immutable map from variable to value, shared by pointer:
// copying a context -- done at every task creation -- is one reference count (the task holds
// its Context object in itself).
#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "weft/detail/spin_lock.hpp"

namespace weft::detail {

using ContextData = std::map<std::uint64_t, std::shared_ptr<const std::any>>;
using ContextPtr = std::shared_ptr<const ContextData>;

// A fresh context identity (never 0).
std::uint64_t next_context_id() noexcept;

// A contextvars.Context object: the variables it binds now (replaced, never changed in place, by
// ContextVar::set and reset) and whether Context::run has it entered. Shared by the Context
// handles, the tasks created with it, and whoever is running in it -- on several workers at once,
// hence the lock (held for a pointer copy; never across a call out).
class ContextState {
 public:
  ContextState() = default;
  explicit ContextState(ContextPtr data) : data_(std::move(data)) {}
  ContextState(const ContextState&) = delete;
  ContextState& operator=(const ContextState&) = delete;

  ContextPtr data() const noexcept {
    lock_.lock();
    ContextPtr data = data_;
    lock_.unlock();
    return data;
  }
  // Installs `next` if the bindings are still `expected` (a set() racing another set() on a
  // Context shared by two tasks retries rather than losing either).
  bool replace(const ContextPtr& expected, ContextPtr next) noexcept {
    lock_.lock();
    bool same = data_ == expected;
    if (same) data_.swap(next);
    lock_.unlock();
    return same;  // `next` (the old bindings, if swapped) is released outside the lock
  }

  const std::uint64_t id = next_context_id();  // what a Token remembers
  // Set while a Context::run is inside (CPython's ctx_entered): a second run() is refused.
  std::atomic<bool> entered{false};

 private:
  mutable SpinLock lock_;
  ContextPtr data_;
};
using ContextStatePtr = std::shared_ptr<ContextState>;

// The Context code on this thread runs in: one entered by Context::run, else the current task's,
// else the thread's own (made on first use).
ContextState& current_context_state();
ContextStatePtr current_context_state_ptr();
// The bindings of the current Context.
ContextPtr current_context() noexcept;
// contextvars.copy_context(): a new Context with the current bindings.
inline ContextStatePtr copy_current_context() {
  return std::make_shared<ContextState>(current_context());
}
// The identity of the current Context (a Token may only be reset in the one it came from).
std::uint64_t current_context_id();

// Makes `context` the current Context for its lifetime (on this thread, or for the running task,
// across its suspensions). `mark_entered` (Context::run): RuntimeError if it is entered already,
// as CPython's "cannot enter context"; the runtime's own entries (a task's callbacks, a to_thread
// job) only refuse the Context the code already runs in.
class ContextScope {
 public:
  ContextScope(ContextStatePtr context, bool mark_entered);
  ~ContextScope();
  ContextScope(const ContextScope&) = delete;
  ContextScope& operator=(const ContextScope&) = delete;

 private:
  ContextStatePtr context_;
  ContextStatePtr saved_;  // what was current before (a thread's or an outer scope's)
  void* task_ = nullptr;   // the TaskCore whose current Context we replaced, or null
  bool marked_;
};

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
