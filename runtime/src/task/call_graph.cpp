// The await graph (call_graph.hpp): capture, from any thread, and asyncio 3.14's text.
//
// How a graph is read while workers run (architecture.md §16): one node at a time, under that
// node's future lock and no other. Under it we copy who awaits the node -- the tasks suspended
// on it (its registered waiters) and the hand-made records -- and, for each suspended task, its
// frames: a task whose waiter is still registered cannot resume before the future completes,
// which needs this very lock, so its frames hold still while we read them. The lock is then
// released and each awaiter becomes a node in turn. No two locks are ever held at once, so a
// capture cannot deadlock with the workers or with another capture.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <utility>

#include "weft/call_graph.hpp"

#include "inspect/inspect_server.hpp"
#include "weft/errors.hpp"
#include "weft/task.hpp"

namespace weft {

bool FutureCallGraph::is_task() const noexcept {
  return dynamic_cast<const detail::TaskCore*>(future.get()) != nullptr;
}

std::string FutureCallGraph::name() const {
  auto* task = dynamic_cast<const detail::TaskCore*>(future.get());
  return task ? task->get_name() : std::string();
}

namespace detail {
namespace {

using CallStack = std::vector<FrameCallGraphEntry>;

CallFrameKind kind_of(const Frame& frame) {
  switch (frame.kind()) {
    case FrameKind::coroutine:
      return CallFrameKind::coroutine;
    case FrameKind::async_generator:
      return CallFrameKind::async_generator;
    case FrameKind::generator:
      return CallFrameKind::generator;
  }
  return CallFrameKind::coroutine;
}

void append_entry(void* out, const Frame& frame, const SourceLocation& site) {
  // A wait that recorded no site (gather(...) has no place for a caller's line): where the
  // coroutine was made, as asyncio's repr says "defined at" of a coroutine it cannot place.
  const SourceLocation& where = *site.file_name() ? site : frame.created_at();
  if (!*where.file_name()) return;
  static_cast<CallStack*>(out)->push_back(
      {FrameSummary{where.file_name(), where.line(), frame.name()}, kind_of(frame)});
}

// The frames `task` runs, innermost first, while they cannot change (see the top of the file).
void append_suspended_stack(const TaskCore& task, CallStack& out) {
  const Frame& host = const_cast<TaskCore&>(task).frame();
  host.walk_await_chain(host.await_site(), &append_entry, &out);
}

// The stack of a task we know nothing about: it may be running, asleep, or about to resume.
void append_stack_of(const TaskCore& task, CallStack& out) {
  if (task.done()) return;  // asyncio: a finished coroutine has no frame
  struct Context {
    const TaskCore* task;
    CallStack* out;
  } context{&task, &out};
  if (task.while_suspended_on_future(
          [](void* c) {
            auto* ctx = static_cast<Context*>(c);
            append_suspended_stack(*ctx->task, *ctx->out);
          },
          &context)) {
    return;
  }
  // Not waiting on a future (asleep, on I/O or a lock; not started; running elsewhere): only
  // what get_stack reads, word-sized atomics any thread may read, under the task's own name.
  const Frame& host = const_cast<TaskCore&>(task).frame();
  TaskState run = task.run_state();
  if (run == TaskState::running || run == TaskState::notified) return;  // nothing holds still
  SourceLocation site = host.await_site();
  if (!*site.file_name()) site = host.created_at();  // not started: where it was made
  append_entry(&out, host, site);
}

// The current task's stack, from the running frame at `where` out to the task's own frame,
// through the frames that drive the running one (an async generator's driver).
void append_current_stack(const TaskCore& task, const SourceLocation& where, CallStack& out) {
  const Frame* task_frame = &const_cast<TaskCore&>(task).frame();
  const Frame* host = Frame::running_host();
  SourceLocation top = where;
  while (host) {
    host->walk_await_chain(top, &append_entry, &out);
    if (host == task_frame) break;
    host = host->driver();
    if (host) top = host->await_site();
  }
}

void apply_limit(CallStack& stack, const std::optional<int>& limit) {
  if (!limit) return;
  // Innermost first: a positive limit keeps the outermost frames (nearest the task's start), a
  // negative one the innermost, as asyncio's.
  std::size_t keep = static_cast<std::size_t>(*limit < 0 ? -static_cast<long>(*limit) : *limit);
  if (keep >= stack.size()) return;
  if (*limit > 0) {
    stack.erase(stack.begin(), stack.end() - static_cast<long>(keep));
  } else {
    stack.resize(keep);
  }
}

struct Awaiter {
  Ref<FutureCore> who;
  bool suspended_on_node;  // its stack was read under the node's lock
  CallStack stack;
};

// Under the node's lock (visit_awaited_by).
void note_awaiter(void* found, FutureCore& awaiter, bool suspended_on_node) {
  auto& list = *static_cast<std::vector<Awaiter>*>(found);
  for (auto& known : list) {
    if (known.who.get() == &awaiter) return;  // a set: once, whichever way it waits
  }
  // Alive: a suspended task is not done (it holds itself), and a hand-made record's adder keeps
  // its awaiter alive until it discards the record, which takes this lock.
  Ref<FutureCore> held = try_ref(&awaiter);
  if (!held) return;
  Awaiter entry{std::move(held), suspended_on_node, {}};
  if (suspended_on_node) {
    if (auto* task = dynamic_cast<const TaskCore*>(&awaiter))
      append_suspended_stack(*task, entry.stack);
  }
  list.push_back(std::move(entry));
}

FutureCallGraph build(Ref<FutureCore> node, CallStack stack, const CallGraphOptions& options,
                      const SourceLocation& where, std::vector<const FutureCore*>& path) {
  FutureCallGraph graph;
  apply_limit(stack, options.limit);
  graph.call_stack = std::move(stack);
  std::vector<Awaiter> found;
  node->visit_awaited_by(&note_awaiter, &found);
  path.push_back(node.get());
  for (auto& awaiter : found) {
    // An await cycle (a deadlock, but a possible one) would recurse forever: stop at the edge
    // that closes it.
    bool cycle = false;
    for (const FutureCore* seen : path) cycle = cycle || seen == awaiter.who.get();
    if (cycle) continue;
    if (!awaiter.suspended_on_node) {
      if (auto* task = dynamic_cast<const TaskCore*>(awaiter.who.get())) {
        // The task that captures (a TaskGroup's parent, say) reads its own frames.
        if (task == current_task_core()) {
          append_current_stack(*task, where, awaiter.stack);
        } else {
          append_stack_of(*task, awaiter.stack);
        }
      }
    }
    graph.awaited_by.push_back(
        build(std::move(awaiter.who), std::move(awaiter.stack), options, where, path));
  }
  path.pop_back();
  graph.future = std::move(node);
  return graph;
}

FutureCallGraph build_for_current(TaskCore& task, const CallGraphOptions& options,
                                  const SourceLocation& where) {
  CallStack stack;
  if (!options.limit || *options.limit != 0) append_current_stack(task, where, stack);
  // depth 1 keeps the line that asked; each more skips one frame from the top.
  std::size_t skip = options.depth > 1 ? static_cast<std::size_t>(options.depth - 1) : 0;
  stack.erase(stack.begin(), stack.begin() + static_cast<long>(std::min(skip, stack.size())));
  std::vector<const FutureCore*> path;
  return build(Ref<FutureCore>(&task), std::move(stack), options, where, path);
}

// Python's repr() of a str: single quotes unless the text holds one and no double quote.
std::string py_repr(const std::string& text) {
  const bool has_single = text.find('\'') != std::string::npos;
  const char quote = has_single && text.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (unsigned char c : text) {
    if (c == static_cast<unsigned char>(quote) || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
  return out;
}

const char* tag_of(CallFrameKind kind) {
  switch (kind) {
    case CallFrameKind::function:
      return "";
    case CallFrameKind::coroutine:
      return "async ";
    case CallFrameKind::async_generator:
      return "async generator ";
    case CallFrameKind::generator:
      return "generator ";
  }
  return "";
}

void render_level(const FutureCallGraph& graph, int level, std::string& buf) {
  const std::string indent(static_cast<std::size_t>(level) * 4, ' ');
  auto add_line = [&](const std::string& line) {
    if (!buf.empty()) buf += '\n';
    buf += indent;
    buf += line;
  };
  char id[2 + 2 * sizeof(std::uintptr_t) + 1];
  std::snprintf(id, sizeof id, "0x%llx", static_cast<unsigned long long>(graph.id()));
  if (graph.is_task()) {
    add_line("* Task(name=" + py_repr(graph.name()) + ", id=" + id + ")");
  } else {
    add_line(std::string("* Future(id=") + id + ")");
  }
  if (!graph.call_stack.empty()) {
    add_line("  + Call stack:");
    for (const auto& entry : graph.call_stack) {
      add_line("  |   File " + py_repr(entry.frame.filename) + ", line " +
               std::to_string(entry.frame.lineno) + ", in " + tag_of(entry.kind) +
               entry.frame.name + "()");
    }
  }
  if (!graph.awaited_by.empty()) {
    add_line("  + Awaited by:");
    for (const auto& parent : graph.awaited_by) render_level(parent, level + 1, buf);
  }
}

// future_add_to_awaited_by's records, with the reference that keeps each waiter alive until
// its discard (the set itself holds raw pointers: see FutureCore::add_awaited_by).
struct PublicRecords {
  std::mutex mutex;
  std::map<std::pair<const FutureCore*, const FutureCore*>, Ref<FutureCore>> held;
};
PublicRecords& public_records() {
  static PublicRecords* records = new PublicRecords;  // never destroyed: used until exit
  return *records;
}

}  // namespace

std::vector<FrameCallGraphEntry> call_stack_of(const TaskCore& task) {
  CallStack stack;
  append_stack_of(task, stack);
  return stack;
}

FutureCallGraph capture_graph_of(const Ref<FutureCore>& future, const CallGraphOptions& options,
                                 const SourceLocation& where) {
  TaskCore* current = current_task_core();
  if (current && current == future.get()) return build_for_current(*current, options, where);
  CallStack stack;
  if (auto* task = dynamic_cast<const TaskCore*>(future.get())) {
    if (!options.limit || *options.limit != 0) append_stack_of(*task, stack);
  }
  std::vector<const FutureCore*> path;
  return build(future, std::move(stack), options, where, path);
}

std::optional<FutureCallGraph> capture_current_graph(const CallGraphOptions& options,
                                                     const SourceLocation& where) {
  TaskCore* task = current_task_core();
  if (!task) {
    if (!in_runtime()) {
      throw RuntimeError(
          "capture_call_graph() is called outside of a running event loop and no *future* to "
          "introspect was provided");
    }
    return std::nullopt;
  }
  return build_for_current(*task, options, where);
}

std::string render_call_graph(const FutureCallGraph& graph) {
  std::string buf;
  render_level(graph, 0, buf);
  return buf;
}

void print_rendered(const std::string& text, std::ostream* file) {
  std::ostream& out = file ? *file : std::cout;
  out << text << '\n';
}

void add_awaited_by(const Ref<FutureCore>& future, const Ref<FutureCore>& waiter) {
  auto& records = public_records();
  std::lock_guard lock(records.mutex);
  auto [at, added] = records.held.try_emplace({future.get(), waiter.get()}, waiter);
  if (added) future->add_awaited_by(*waiter);
}

void discard_awaited_by(const Ref<FutureCore>& future, const Ref<FutureCore>& waiter) {
  Ref<FutureCore> release;  // dropped after the mutex: it may be the last reference
  auto& records = public_records();
  std::lock_guard lock(records.mutex);
  auto at = records.held.find({future.get(), waiter.get()});
  if (at == records.held.end()) return;
  future->discard_awaited_by(*waiter);
  release = std::move(at->second);
  records.held.erase(at);
}

}  // namespace detail

std::optional<FutureCallGraph> capture_call_graph(CallGraphOptions options, SourceLocation where) {
  return detail::capture_current_graph(options, where);
}

std::string format_call_graph(CallGraphOptions options, SourceLocation where) {
  auto graph = detail::capture_current_graph(options, where);
  return graph ? detail::render_call_graph(*graph) : std::string();
}

void print_call_graph(CallGraphOptions options, std::ostream* file, SourceLocation where) {
  detail::print_rendered(format_call_graph(options, where), file);
}

}  // namespace weft
