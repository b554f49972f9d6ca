// The loop's exception handler: loop.set_exception_handler, call_exception_handler and
// default_exception_handler. Every report the runtime cannot raise to anyone -- a callback that
// threw, a task exception nobody retrieved -- comes through Scheduler::call_exception_handler,
// from whatever thread met it; none of them may end the process.
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "sched/scheduler.hpp"
#include "weft/detail/blocking_wait.hpp"
#include "weft/detail/concurrent_core.hpp"
#include "weft/runtime.hpp"

namespace weft {

namespace detail {

void Scheduler::set_exception_handler(std::shared_ptr<const ExceptionHandler> handler) {
  std::lock_guard lock(handler_mutex_);
  handler_ = std::move(handler);
}

std::shared_ptr<const ExceptionHandler> Scheduler::exception_handler() const {
  std::lock_guard lock(handler_mutex_);
  return handler_;
}

void Scheduler::detach_owner() noexcept {
  std::lock_guard lock(handler_mutex_);
  owner = nullptr;
  handler_.reset();
}

void Scheduler::call_exception_handler(const ExceptionContext& context) noexcept {
  Runtime* runtime;
  {
    std::lock_guard lock(handler_mutex_);
    runtime = owner;
  }
  // A future that outlived its Runtime (a handle kept after weft::run returned) reports to the
  // default log; its handler went with the Runtime.
  if (!runtime) {
    log_exception_context_noexcept(context);
    return;
  }
  runtime->call_exception_handler(context);
}

void report_callback_exception(Scheduler& scheduler, const char* what, std::string handle,
                               std::exception_ptr error) noexcept {
  try {
    ExceptionContext context;
    context.message = std::string("Exception in callback ") + what;
    context.exception = std::move(error);
    context.handle = std::move(handle);
    scheduler.call_exception_handler(context);
  } catch (...) {
    std::fputs("ERROR: Exception in callback (no memory to describe it)\n", stderr);
  }
}

void report_timer_exception(const TimerCallback& timer, std::exception_ptr error) noexcept {
  Scheduler* scheduler = thread_scheduler();  // timers fire on the worker that set them
  if (!scheduler) return;
  char when[32];
  std::snprintf(when, sizeof when, "%g", static_cast<double>(timer.when_ns) * 1e-9);
  try {
    report_callback_exception(*scheduler, "scheduled by call_at",
                              std::string("<TimerHandle when=") + when + " scheduled by call_at>",
                              std::move(error));
  } catch (...) {
    std::fputs("ERROR: Exception in callback (no memory to describe it)\n", stderr);
  }
}

void report_concurrent_callback_exception(const FutureCore& task,
                                          std::exception_ptr error) noexcept {
  try {
    ExceptionContext context;
    context.message = "exception calling callback for <ConcurrentFuture of " + task.repr() + ">";
    context.exception = std::move(error);
    log_exception_context_noexcept(context);
  } catch (...) {
    std::fputs("ERROR: exception calling callback (no memory to describe it)\n", stderr);
  }
}

}  // namespace detail

void Runtime::set_exception_handler(ExceptionHandler handler) {
  scheduler_->set_exception_handler(
      handler ? std::make_shared<const ExceptionHandler>(std::move(handler)) : nullptr);
}

ExceptionHandler Runtime::get_exception_handler() const {
  auto handler = scheduler_->exception_handler();
  return handler ? *handler : ExceptionHandler{};
}

void Runtime::default_exception_handler(const ExceptionContext& context) {
  detail::log_exception_context(context);
}

void Runtime::call_exception_handler(const ExceptionContext& context) noexcept {
  // A copy of the shared pointer: the handler stays alive while it runs, even if another thread
  // replaces it meanwhile.
  std::shared_ptr<const ExceptionHandler> handler = scheduler_->exception_handler();
  if (!handler) {
    detail::log_exception_context_noexcept(context);
    return;
  }
  try {
    (*handler)(*this, context);
  } catch (...) {
    // asyncio: the default handler reports the handler's failure, with what it was given.
    try {
      ExceptionContext failure;
      failure.message = "Unhandled error in exception event handler";
      failure.exception = std::current_exception();
      failure.context = std::make_shared<const ExceptionContext>(context);
      default_exception_handler(failure);
    } catch (...) {
      std::fputs(
          "ERROR: Exception in default exception handler while handling an unexpected error in "
          "custom exception handler\n",
          stderr);
    }
  }
}

}  // namespace weft
