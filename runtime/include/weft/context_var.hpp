// contextvars: ContextVar<T>, Context and copy_context(). Each task runs in a Context of its own,
// a copy of its creator's made when the task was created (or in the one given to create_task),
// so a set() in one task is invisible to the others.
//
//   inline weft::ContextVar<std::string> request_id("request_id", "-");
//   auto token = request_id.set("abc");  ...  request_id.reset(token);
#pragma once

#include <any>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "weft/detail/context_data.hpp"
#include "weft/errors.hpp"

namespace weft {

class Context;

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
    Token(const ContextVar* var, std::shared_ptr<const std::any> old, std::uint64_t context)
        : var_(var), old_(std::move(old)), context_(context) {}
    const ContextVar* var_;
    std::shared_ptr<const std::any> old_;  // null: the variable had no value
    std::uint64_t context_;                // the Context it was made in
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
    auto& context = detail::current_context_state();
    auto bound = std::make_shared<const std::any>(std::move(value));
    std::shared_ptr<const std::any> old;
    for (;;) {  // a Context shared by tasks on other workers may change meanwhile: retry
      auto current = context.data();
      auto next = current ? std::make_shared<detail::ContextData>(*current)
                          : std::make_shared<detail::ContextData>();
      auto it = next->find(id_);
      old = it != next->end() ? it->second : nullptr;
      (*next)[id_] = bound;
      if (context.replace(current, std::move(next))) break;
    }
    return Token(this, std::move(old), context.id);
  }

  // RuntimeError if the token was used already; ValueError if it came from another variable or
  // another Context (a token made in one task and reset in another, or in a Context::run).
  void reset(Token& token) {
    if (token.used_) detail::throw_bad_token(token.repr(), detail::BadToken::used);
    if (token.var_ != this) detail::throw_bad_token(token.repr(), detail::BadToken::other_var);
    auto& context = detail::current_context_state();
    if (token.context_ != context.id)
      detail::throw_bad_token(token.repr(), detail::BadToken::other_context);
    for (;;) {
      auto current = context.data();
      auto next = current ? std::make_shared<detail::ContextData>(*current)
                          : std::make_shared<detail::ContextData>();
      if (token.old_) {
        (*next)[id_] = token.old_;
      } else {
        next->erase(id_);
      }
      if (context.replace(current, std::move(next))) break;
    }
    token.used_ = true;
  }

 private:
  friend class Context;
  std::shared_ptr<const std::any> find() const { return find_in(detail::current_context()); }
  std::shared_ptr<const std::any> find_in(const detail::ContextPtr& context) const {
    if (!context) return nullptr;
    auto it = context->find(id_);
    return it == context->end() ? nullptr : it->second;
  }

  std::string name_;
  std::optional<T> default_;
  std::uint64_t id_ = detail::next_context_var_id();
};

// contextvars.Context: a set of variable bindings code can run in. A shared handle (copying it
// does not copy the Context: copy() does); Context() is an empty one.
//
//   weft::Context ctx = weft::copy_context();
//   ctx.run([&] { request_id.set("abc"); });        // ctx.run(request_id.set, "abc")
//   ctx.get(request_id);                             // "abc"; the caller's own value is unchanged
//   weft::create_task(handler, {.context = ctx});    // the task runs in ctx itself
class Context {
 public:
  Context() : state_(std::make_shared<detail::ContextState>()) {}
  explicit Context(detail::ContextStatePtr state) : state_(std::move(state)) {}

  // Calls fn(args...) with this Context current: the variables it sets are set here, and the
  // caller's Context is current again after (also when fn throws). RuntimeError ("cannot enter
  // context: ... is already entered") if a run() is inside it already, or if the caller runs in
  // it. Inside a task, fn may suspend: the Context stays the task's until fn returns.
  template <class F, class... Args>
  decltype(auto) run(F&& fn, Args&&... args) {
    detail::ContextScope scope(state_, true);
    return std::invoke(std::forward<F>(fn), std::forward<Args>(args)...);
  }
  // A new Context with the same bindings (Context.copy()).
  Context copy() const { return Context(std::make_shared<detail::ContextState>(state_->data())); }

  // The variable's value in this Context (not its default), or nullopt (ctx.get(var)).
  template <class T>
  std::optional<T> get(const ContextVar<T>& var) const {
    if (auto value = var.find_in(state_->data())) return std::any_cast<const T&>(*value);
    return std::nullopt;
  }
  template <class T>
  T get(const ContextVar<T>& var, T fallback) const {
    if (auto value = var.find_in(state_->data())) return std::any_cast<const T&>(*value);
    return fallback;
  }
  // ctx[var]: the value, or a KeyError-like RuntimeError if the variable is not set here.
  template <class T>
  T operator[](const ContextVar<T>& var) const {
    if (auto value = var.find_in(state_->data())) return std::any_cast<const T&>(*value);
    throw RuntimeError("KeyError: " + var.repr() + " is not set in this Context; use get()");
  }
  template <class T>
  bool contains(const ContextVar<T>& var) const {  // `var in ctx`
    return var.find_in(state_->data()) != nullptr;
  }
  std::size_t size() const noexcept {  // len(ctx): how many variables it binds
    auto data = state_->data();
    return data ? data->size() : 0;
  }

  // The same Context object (Python's `is`).
  bool is(const Context& other) const noexcept { return state_ == other.state_; }
  // Python's ==: the same bindings -- here, each variable bound by the same set() (weft cannot
  // compare values of any type), as a copy and its original until either sets something.
  friend bool operator==(const Context& a, const Context& b) noexcept {
    auto x = a.state_->data();
    auto y = b.state_->data();
    if (x == y) return true;
    std::size_t x_size = x ? x->size() : 0;
    std::size_t y_size = y ? y->size() : 0;
    return x_size == y_size && (x_size == 0 || *x == *y);
  }

  const detail::ContextStatePtr& state() const noexcept { return state_; }

 private:
  detail::ContextStatePtr state_;
};

// contextvars.copy_context(): a copy of the Context the caller runs in (its task's, or its
// thread's outside tasks).
inline Context copy_context() {
  return Context(detail::copy_current_context());
}

}  // namespace weft
