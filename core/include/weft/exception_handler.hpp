// What the runtime does with an error nobody can catch: a callback that threw (call_soon,
// call_later, a done callback), a task's exception that was never retrieved. asyncio hands a
// context to the loop's exception handler and goes on; so does weft. The default handler logs it
// through the warning sink (category "ERROR", see warnings.hpp).
//
//   rt.set_exception_handler([](weft::Runtime&, const weft::ExceptionContext& context) {
//     my_log(context.message, weft::describe_exception(context.exception));
//   });                                    // loop.set_exception_handler(handler)
//   rt.call_soon([] { throw std::runtime_error("boom"); });
//   // -> my_log("Exception in callback scheduled by call_soon", "std::runtime_error: boom")
//   rt.set_exception_handler(nullptr);     // back to the default handler
//
// A handler may run on any thread (a worker, a to_thread thread, a thread that completed a
// future). If it throws, the default handler reports "Unhandled error in exception event
// handler" with the original context; nothing is rethrown and the process goes on.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <string>

#include "weft/source_location.hpp"

namespace weft {

class Runtime;

// asyncio's context dict, its keys as fields; an empty field is a key that is absent. The
// objects concerned are given by their repr (a handler logs them; C++ has no common type for
// every Future<T> and Task<R>).
struct ExceptionContext {
  std::string message;           // "message": what happened
  std::exception_ptr exception;  // "exception": the error, if there is one
  std::string future;            // "future": the future concerned, e.g. "<Future finished ...>"
  std::string task;              // "task": the task concerned, e.g. "<Task finished name=...>"
  std::string handle;            // "handle": the callback's handle, e.g. "<Handle ...>"
  // "source_traceback": where the object concerned was created, in debug mode (a file name
  // that is empty: absent). C++ keeps one frame, the creating call, where Python keeps a stack.
  SourceLocation source_traceback;
  // "context": the context a handler was given when it threw (in the report of that failure).
  std::shared_ptr<const ExceptionContext> context;
};

// loop.set_exception_handler's handler: called with the runtime and the context.
using ExceptionHandler = std::function<void(Runtime&, const ExceptionContext&)>;

// asyncio's default_exception_handler text: the message ("Unhandled exception in event loop" if
// empty), then one "key: value" line per field present, keys sorted, then the exception.
std::string format_exception_context(const ExceptionContext& context);

}  // namespace weft
