// Helpers for the await-graph tests: CPython's test_graph.py walk() -- a graph as nested lists
// of names -- and its capture_test_stack().
#pragma once

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include <weft/call_graph.hpp>

namespace weft_graph_test {

// CPython's walk(): ['T<name>' (or 'T<anon>' for a default Task-N name, 'F' for a future),
// ['a coro', 'ag agen', ...], [the awaiters' walks, sorted]] in Python's list notation.
inline std::string walk(const weft::FutureCallGraph& graph) {
  std::string who = "F";
  if (graph.is_task()) {
    std::string name = graph.name();
    who = name.find('-') == std::string::npos ? "T<" + name + ">" : "T<anon>";
  }
  std::string text = "['" + who + "', [";
  bool first = true;
  for (const auto& entry : graph.call_stack) {
    const char* tag = entry.kind == weft::CallFrameKind::coroutine         ? "a "
                      : entry.kind == weft::CallFrameKind::async_generator ? "ag "
                                                                           : "s ";
    text += (first ? "'" : ", '") + std::string(tag) + entry.frame.name + "'";
    first = false;
  }
  text += "], [";
  std::vector<std::string> parents;
  for (const auto& parent : graph.awaited_by) parents.push_back(walk(parent));
  std::sort(parents.begin(), parents.end());
  for (std::size_t i = 0; i < parents.size(); ++i) text += (i ? ", " : "") + parents[i];
  return text + "]]";
}

struct Captured {
  std::string walk;     // capture_call_graph's graph, walked
  std::string printed;  // what print_call_graph printed
};

// capture_test_stack(): the current task's graph; `where` (the line that called us) stands for
// CPython's depth + 1, which skips the helper's own frame.
inline Captured capture_test_stack(int depth = 1,
                                   weft::SourceLocation where = weft::SourceLocation::current()) {
  std::ostringstream printed;
  weft::print_call_graph({.depth = depth}, &printed, where);
  auto graph = weft::capture_call_graph({.depth = depth}, where);
  return {graph ? walk(*graph) : "None", printed.str()};
}
template <class F>
Captured capture_test_stack_of(const F& future,
                               weft::SourceLocation where = weft::SourceLocation::current()) {
  std::ostringstream printed;
  weft::print_call_graph(future, {}, &printed, where);
  return {walk(weft::capture_call_graph(future, {}, where)), printed.str()};
}

}  // namespace weft_graph_test
