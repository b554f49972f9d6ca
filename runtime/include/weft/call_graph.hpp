// The await graph (asyncio 3.14's capture_call_graph / format_call_graph / print_call_graph):
// where a task waits, and who waits for it, up to the tasks nobody awaits.
//
//   weft::print_call_graph();                      // the current task, to standard output
//   std::string text = weft::format_call_graph(t);  // a task or future, from any thread
//   auto graph = weft::capture_call_graph(t, {.limit = 1});
//
// prints, as asyncio does:
//
//   * Task(name='worker', id=0x7f...)
//     + Call stack:
//     |   File 'app.cpp', line 12, in async fetch()
//     + Awaited by:
//         * Task(name='Task-1', id=0x7f...)
//           + Call stack:
//           |   File 'app.cpp', line 30, in async main()
//
// A call stack lists the coroutines a task runs inline (weft::await of a coroutine), innermost
// first, each at the line it waits on; plain C++ functions between them are not seen. Who awaits
// a task or future: the tasks suspended on it (await, wait_for), the task that gathers, shields
// or waits on it (gather, shield, wait), a TaskGroup's or staggered_race's parent task, and what
// future_add_to_awaited_by recorded. Safe from any thread, while workers run
// (architecture.md §16).
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "weft/detail/task_core.hpp"
#include "weft/source_location.hpp"

namespace weft {

// What ran at a frame of a call stack: the tag asyncio prints before its name.
enum class CallFrameKind { function, coroutine, async_generator, generator };

// asyncio.FrameCallGraphEntry: one frame -- file, line, the coroutine's name -- and its kind.
struct FrameCallGraphEntry {
  FrameSummary frame;
  CallFrameKind kind = CallFrameKind::coroutine;
};

// asyncio.FutureCallGraph: a task or future, where it waits (innermost first), and the graphs of
// those that await it.
struct FutureCallGraph {
  detail::Ref<detail::FutureCore> future;  // keeps the task or future alive
  std::vector<FrameCallGraphEntry> call_stack;
  std::vector<FutureCallGraph> awaited_by;

  bool is_task() const noexcept;
  std::string name() const;  // the task's name; empty for a future
  std::uintptr_t id() const noexcept { return reinterpret_cast<std::uintptr_t>(future.get()); }
};

// capture_call_graph's keyword arguments. depth: for the current task, skip depth - 1 frames
// from the top of its stack (1: the top is the line that called). limit: keep at most |limit|
// frames of each call stack -- the outermost if positive, the innermost if negative; 0: none.
struct CallGraphOptions {
  int depth = 1;
  std::optional<int> limit = std::nullopt;
};

namespace detail {
template <class F>
concept CallGraphSubject = requires(const F& f) {
  { f.core() } -> std::convertible_to<const FutureCore&>;
};
template <CallGraphSubject F>
Ref<FutureCore> subject_core(const F& f) {
  return Ref<FutureCore>(&const_cast<FutureCore&>(static_cast<const FutureCore&>(f.core())));
}
FutureCallGraph capture_graph_of(const Ref<FutureCore>& future, const CallGraphOptions& options,
                                 const SourceLocation& where);
std::optional<FutureCallGraph> capture_current_graph(const CallGraphOptions& options,
                                                     const SourceLocation& where);
std::string render_call_graph(const FutureCallGraph& graph);
void print_rendered(const std::string& text, std::ostream* file);
void add_awaited_by(const Ref<FutureCore>& future, const Ref<FutureCore>& waiter);
void discard_awaited_by(const Ref<FutureCore>& future, const Ref<FutureCore>& waiter);
}  // namespace detail

// asyncio.capture_call_graph(): the current task's graph; nullopt where no task runs (a
// callback); RuntimeError outside a runtime. `where` is the line that asks: the top frame.
std::optional<FutureCallGraph> capture_call_graph(CallGraphOptions options = {},
                                                  SourceLocation where = SourceLocation::current());
// asyncio.capture_call_graph(future): a Task, Future or TaskRef -- from any thread.
template <detail::CallGraphSubject F>
FutureCallGraph capture_call_graph(const F& task_or_future, CallGraphOptions options = {},
                                   SourceLocation where = SourceLocation::current()) {
  return detail::capture_graph_of(detail::subject_core(task_or_future), options, where);
}

// asyncio.format_call_graph(): the graph as asyncio prints it, lines joined by '\n' ("" where
// capture_call_graph() gives nullopt).
std::string format_call_graph(CallGraphOptions options = {},
                              SourceLocation where = SourceLocation::current());
template <detail::CallGraphSubject F>
std::string format_call_graph(const F& task_or_future, CallGraphOptions options = {},
                              SourceLocation where = SourceLocation::current()) {
  return detail::render_call_graph(capture_call_graph(task_or_future, options, where));
}

// asyncio.print_call_graph(): format_call_graph and a newline, to `file` (default: stdout).
void print_call_graph(CallGraphOptions options = {}, std::ostream* file = nullptr,
                      SourceLocation where = SourceLocation::current());
template <detail::CallGraphSubject F>
void print_call_graph(const F& task_or_future, CallGraphOptions options = {},
                      std::ostream* file = nullptr,
                      SourceLocation where = SourceLocation::current()) {
  detail::print_rendered(format_call_graph(task_or_future, options, where), file);
}

// asyncio.future_add_to_awaited_by(future, waiter) / future_discard_from_awaited_by: records
// (and forgets) that `waiter` waits for `future`, for what weft cannot see by itself (a future
// completed by a done callback of yours). Each add wants its discard, with the same arguments;
// the record keeps `waiter` alive until then. Adding twice records once, as in a set.
template <detail::CallGraphSubject F, detail::CallGraphSubject W>
void future_add_to_awaited_by(const F& future, const W& waiter) {
  detail::add_awaited_by(detail::subject_core(future), detail::subject_core(waiter));
}
template <detail::CallGraphSubject F, detail::CallGraphSubject W>
void future_discard_from_awaited_by(const F& future, const W& waiter) {
  detail::discard_awaited_by(detail::subject_core(future), detail::subject_core(waiter));
}

}  // namespace weft
