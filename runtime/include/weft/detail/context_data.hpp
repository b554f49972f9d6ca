// Internal: a context (contextvars.Context) is an immutable map from variable to value, shared
// by pointer: copying a context -- done at every task creation -- is one reference count.
#pragma once

#include <any>
#include <cstdint>
#include <map>
#include <memory>

namespace weft::detail {

using ContextData = std::map<std::uint64_t, std::shared_ptr<const std::any>>;
using ContextPtr = std::shared_ptr<const ContextData>;

// The context code on this thread runs in: the current task's, or the thread's own.
ContextPtr current_context() noexcept;
// Replaces the current context (the task's, or the thread's own outside tasks).
void set_current_context(ContextPtr context) noexcept;

}  // namespace weft::detail
