// TaskGroup (asyncio.TaskGroup): tasks created in the group are awaited when the scope ends; the
// first failure cancels the rest, and the failures come back together in an ExceptionGroup.
//
//   weft::task_group([](weft::TaskGroup& tg) {
//     tg.create_task(weft::coro(fetch, 1));
//     tg.create_task(weft::coro(fetch, 2));
//   });  // both done here, or ExceptionGroup with every failure
#pragma once

#include <concepts>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "weft/future.hpp"
#include "weft/task.hpp"

namespace weft {

// BaseExceptionGroup / ExceptionGroup: several exceptions raised together.
class ExceptionGroup : public std::exception {
 public:
  ExceptionGroup(std::string message, std::vector<std::exception_ptr> exceptions);
  const char* what() const noexcept override { return what_.c_str(); }
  const std::string& message() const noexcept { return message_; }
  const std::vector<std::exception_ptr>& exceptions() const noexcept { return exceptions_; }

 private:
  std::string message_;
  std::string what_;
  std::vector<std::exception_ptr> exceptions_;
};

namespace detail {
class TaskGroupState;
}

// Made unentered; task_group() enters it (asyncio's `async with`), which ties it to the task
// that runs the scope.
class TaskGroup {
 public:
  TaskGroup();
  TaskGroup(const TaskGroup&) = delete;
  TaskGroup& operator=(const TaskGroup&) = delete;

  // Creates a task in the group, with weft::create_task's name or options (asyncio 3.14 passes
  // eager_start on too; an eager child may be done on return, and still belongs to the group).
  // RuntimeError once the group is finished or shutting down.
  // `where`: the task's creation site in debug mode (see weft::create_task).
  template <class C>
  auto create_task(C&& coroutine_or_callable, SourceLocation where = SourceLocation::current()) {
    return create_task(std::forward<C>(coroutine_or_callable), TaskOptions{}, where);
  }
  template <class C, std::convertible_to<std::string> Name>
  auto create_task(C&& coroutine_or_callable, Name&& name,
                   SourceLocation where = SourceLocation::current()) {
    return create_task(std::forward<C>(coroutine_or_callable),
                       TaskOptions{.name = std::string(std::forward<Name>(name))}, where);
  }
  template <class C>
  auto create_task(C&& coroutine_or_callable, TaskOptions options,
                   SourceLocation where = SourceLocation::current()) {
    check_accepting();
    auto task =
        weft::create_task(std::forward<C>(coroutine_or_callable), std::move(options), where);
    adopt(task.core());
    return task;
  }

  // asyncio's __aenter__: binds the group to the current task. RuntimeError if entered before,
  // or outside a task. task_group() calls it.
  void enter();
  bool entered() const;
  std::string repr() const;  // asyncio's: "<TaskGroup tasks=2 entered>"

  // Internal: the scope's end, with the exception leaving the body (or null). Waits for every
  // task; throws what the group raises, or returns when the body's exception (if any) should
  // propagate unchanged.
  void exit(std::exception_ptr body_error);

 private:
  void check_accepting();
  void adopt(detail::TaskCore& task);
  std::shared_ptr<detail::TaskGroupState> state_;
};

// Runs body(group) and ends the group's scope as `async with TaskGroup()` does.
// `where` is the call's site: Task::get_stack reports it while the scope waits for its tasks
// (CPython shows the `async with` line).
template <class F>
decltype(auto) task_group(F&& body, SourceLocation where = SourceLocation::current()) {
  TaskGroup group;
  group.enter();
  using R = std::invoke_result_t<F&, TaskGroup&>;
  std::exception_ptr body_error;
  if constexpr (std::is_void_v<R>) {
    try {
      body(group);
    } catch (...) {
      body_error = std::current_exception();
    }
    detail::Frame::record_await_site(where);
    group.exit(body_error);  // throws the group's error, or returns to let the body's propagate
    if (body_error) std::rethrow_exception(body_error);
  } else {
    std::optional<R> result;
    try {
      result.emplace(body(group));
    } catch (...) {
      body_error = std::current_exception();
    }
    detail::Frame::record_await_site(where);
    group.exit(body_error);
    if (body_error) std::rethrow_exception(body_error);
    return R(std::move(*result));  // a value: decltype(auto) of std::move(...) would dangle
  }
}

}  // namespace weft
