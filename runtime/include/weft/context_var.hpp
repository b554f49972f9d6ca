// ContextVar<T>: contextvars.ContextVar. Each task runs in a copy of its creator's context made
// when the task was created, so a set() in one task is invisible to the others.
//
//   inline weft::ContextVar<std::string> request_id("request_id", "-");
//   auto token = request_id.set("abc");  ...  request_id.reset(token);
#pragma once

#include <any>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "weft/detail/context_data.hpp"
#include "weft/errors.hpp"

namespace weft {

namespace detail {
std::uint64_t next_context_var_id() noexcept;
}

template <class T>
class ContextVar {
 public:
  // What set() returns: reset(token) restores the value from before that set().
  class Token {
   public:
    const ContextVar* var() const noexcept { return var_; }

   private:
    friend class ContextVar;
    Token(const ContextVar* var, std::shared_ptr<const std::any> old)
        : var_(var), old_(std::move(old)) {}
    const ContextVar* var_;
    std::shared_ptr<const std::any> old_;  // null: the variable had no value
    bool used_ = false;
  };

  explicit ContextVar(std::string name) : name_(std::move(name)) {}
  ContextVar(std::string name, T default_value)
      : name_(std::move(name)), default_(std::move(default_value)) {}

  const std::string& name() const noexcept { return name_; }

  // The value in the current context, else the default; LookupError-like RuntimeError if none.
  T get() const {
    if (auto value = find()) return std::any_cast<const T&>(*value);
    if (default_) return *default_;
    throw RuntimeError("LookupError: <ContextVar name='" + name_ + "'> has no value");
  }
  T get(T fallback) const {
    if (auto value = find()) return std::any_cast<const T&>(*value);
    return fallback;
  }

  Token set(T value) {
    auto context = detail::current_context();
    auto next = context ? std::make_shared<detail::ContextData>(*context)
                        : std::make_shared<detail::ContextData>();
    std::shared_ptr<const std::any> old;
    if (auto it = next->find(id_); it != next->end()) old = it->second;
    (*next)[id_] = std::make_shared<const std::any>(std::move(value));
    detail::set_current_context(std::move(next));
    return Token(this, std::move(old));
  }

  void reset(Token& token) {
    if (token.var_ != this) throw ValueError("Token was created by a different ContextVar");
    if (token.used_) throw RuntimeError("Token has already been used once");
    auto context = detail::current_context();
    auto next = context ? std::make_shared<detail::ContextData>(*context)
                        : std::make_shared<detail::ContextData>();
    if (token.old_) {
      (*next)[id_] = token.old_;
    } else {
      next->erase(id_);
    }
    detail::set_current_context(std::move(next));
    token.used_ = true;
  }

 private:
  std::shared_ptr<const std::any> find() const {
    auto context = detail::current_context();
    if (!context) return nullptr;
    auto it = context->find(id_);
    return it == context->end() ? nullptr : it->second;
  }

  std::string name_;
  std::optional<T> default_;
  std::uint64_t id_ = detail::next_context_var_id();
};

}  // namespace weft
