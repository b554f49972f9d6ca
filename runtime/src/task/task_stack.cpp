// Task.get_stack / print_stack. A stackful task has no chain of Python frames to walk; what it
// does have is the place it waits, recorded by every weft::await and weft::sleep.
#include <fstream>
#include <iostream>

#include "weft/detail/task_core.hpp"
#include "weft/errors.hpp"
#include "weft/task.hpp"

namespace weft::detail {
namespace {

// The source line, stripped, if the file is readable (Python's linecache); else empty.
std::string source_line(const std::string& filename, unsigned lineno) {
  std::ifstream file(filename);
  std::string line;
  for (unsigned i = 0; i < lineno && std::getline(file, line); ++i) {
  }
  if (!file) return {};
  auto first = line.find_first_not_of(" \t");
  auto last = line.find_last_not_of(" \t\r");
  return first == std::string::npos ? std::string() : line.substr(first, last - first + 1);
}

}  // namespace

std::vector<FrameSummary> TaskCore::get_stack(std::optional<int> limit,
                                              const SourceLocation& caller) const {
  std::vector<FrameSummary> frames;
  if (limit && *limit <= 0) return frames;
  SourceLocation site;
  switch (state()) {
    case FutureState::CANCELLED:
      return frames;
    case FutureState::FINISHED:
      if (!has_exception()) return frames;
      site = frame_.await_site();  // the last await it left before raising
      break;
    case FutureState::PENDING: {
      TaskState run = run_state();
      if (run == TaskState::running || run == TaskState::notified) {
        // Running: only the task itself knows where it is -- at the line that asked.
        if (current_task_core() != this || !*caller.file_name()) return frames;
        frames.push_back({caller.file_name(), caller.line(), frame_.name()});
        return frames;
      }
      site = frame_.await_site();
      if (!*site.file_name()) site = frame_.created_at();  // not started: where it was made
      break;
    }
  }
  if (*site.file_name()) frames.push_back({site.file_name(), site.line(), site.function_name()});
  return frames;
}

bool TaskCore::while_suspended_on_future(void (*fn)(void*), void* context) const {
  lock();
  Ref<FutureCore> awaited = fut_waiter_;
  unlock();
  // Registered means not woken: only the future's completion wakes a future wait (cancel()
  // cancels the future), and it needs the lock while_registered holds (architecture.md §16).
  return awaited && awaited->while_registered(*this, fn, context);
}

void print_stack_to(const TaskCore& task, std::optional<int> limit, std::ostream* out,
                    const SourceLocation& caller) {
  std::ostream& file = out ? *out : std::cerr;
  auto frames = task.get_stack(limit, caller);
  bool failed = task.state() == FutureState::FINISHED && task.has_exception();
  if (frames.empty()) {
    file << "No stack for " << task.repr() << "\n";
  } else if (failed) {
    file << "Traceback for " << task.repr() << " (most recent call last):\n";
  } else {
    file << "Stack for " << task.repr() << " (most recent call last):\n";
  }
  for (const FrameSummary& f : frames) {
    file << "  File \"" << f.filename << "\", line " << f.lineno << ", in " << f.name << "\n";
    std::string line = source_line(f.filename, f.lineno);
    if (!line.empty()) file << "    " << line << "\n";
  }
  if (failed) file << describe_exception(task.peek_exception()) << "\n";
}

}  // namespace weft::detail
