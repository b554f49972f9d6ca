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

template <class T>
class ContextVar {
 public:
  // What set() returns: reset(token) restores the value from before that set(), once, with the
  // same variable, in the same context (the task, or thread, that called set()).
  class Token {
   public:
    const ContextVar* var() const noexcept { return var_; }
    std::string repr() const { return detail::token_repr(used_, var_->repr(), this); }

   private:
    friend class ContextVar;
    Token(const ContextVar* var, std::shared_ptr<const std::any> old)
        : var_(var), old_(std::move(old)) {}
    const ContextVar* var_;
    std::shared_ptr<const std::any> old_;  // null: the variable had no value
    std::uint64_t context_ = detail::current_context_id();
    bool used_ = false;
  };

  explicit ContextVar(std::string name) : name_(std::move(name)) {}
  ContextVar(std::string name, T default_value)
      : name_(std::move(name)), default_(std::move(default_value)) {}

  const std::string& name() const noexcept { return name_; }
  std::string repr() const {
    std::optional<std::string> default_text;
    if (default_) default_text = detail::value_repr(*default_);
    return detail::context_var_repr(name_, default_text ? &*default_text : nullptr, this);
  }

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

  // RuntimeError if the token was used already; ValueError if it came from another variable or
  // another context (a token made in one task and reset in another).
  void reset(Token& token) {
    if (token.used_) detail::throw_bad_token(token.repr(), detail::BadToken::used);
    if (token.var_ != this) detail::throw_bad_token(token.repr(), detail::BadToken::other_var);
    if (token.context_ != detail::current_context_id())
      detail::throw_bad_token(token.repr(), detail::BadToken::other_context);
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
