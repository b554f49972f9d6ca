// The default exception handler's text and its last-resort guards, for every report that has no
// runtime to go to (a future made outside one) and for the runtime's default handler.
#include "weft/exception_handler.hpp"

#include <cstdio>
#include <utility>

#include "weft/detail/future_core.hpp"
#include "weft/errors.hpp"
#include "weft/warnings.hpp"

namespace weft {
namespace {

// asyncio's "Object created at" block: traceback.format_list of one frame.
std::string source_traceback_text(const SourceLocation& site) {
  return std::string("Object created at (most recent call last):\n  File \"") + site.file_name() +
         "\", line " + std::to_string(site.line()) + ", in " + site.function_name();
}

// Python's repr of the context dict, for the "context:" line of a failed handler's report.
std::string context_repr(const ExceptionContext& context) {
  std::string text = "{'message': '" + context.message + "'";
  if (context.exception) text += ", 'exception': " + describe_exception(context.exception);
  if (!context.future.empty()) text += ", 'future': " + context.future;
  if (!context.task.empty()) text += ", 'task': " + context.task;
  if (!context.handle.empty()) text += ", 'handle': " + context.handle;
  if (*context.source_traceback.file_name()) {
    text += ", 'source_traceback': " + source_traceback_text(context.source_traceback);
  }
  if (context.context) text += ", 'context': " + context_repr(*context.context);
  return text + "}";
}

// Writes straight to standard error: the warning sink itself failed.
void last_resort(const char* what) noexcept {
  std::fprintf(stderr, "ERROR: %s\n", what);
}

}  // namespace

std::string format_exception_context(const ExceptionContext& context) {
  std::string text =
      context.message.empty() ? "Unhandled exception in event loop" : context.message;
  // asyncio prints the other keys sorted by name.
  if (context.context) text += "\ncontext: " + context_repr(*context.context);
  if (!context.future.empty()) text += "\nfuture: " + context.future;
  if (!context.handle.empty()) text += "\nhandle: " + context.handle;
  if (*context.source_traceback.file_name()) {
    text += "\nsource_traceback: " + source_traceback_text(context.source_traceback);
  }
  if (!context.task.empty()) text += "\ntask: " + context.task;
  if (context.exception) text += "\n" + describe_exception(context.exception);
  return text;
}

namespace detail {

void log_exception_context(const ExceptionContext& context) {
  // The warning's place is where the object was created, when debug mode kept it.
  const SourceLocation& created = context.source_traceback;
  warn({"ERROR", format_exception_context(context), created.file_name(), created.line()});
}

void log_exception_context_noexcept(const ExceptionContext& context) noexcept {
  try {
    log_exception_context(context);
  } catch (...) {
    // asyncio's second line of defence: the default handler (here, the warning sink) failed.
    last_resort("Exception in default exception handler");
  }
}

void CallbackScheduler::call_exception_handler(const ExceptionContext& context) noexcept {
  log_exception_context_noexcept(context);
}

}  // namespace detail
}  // namespace weft
