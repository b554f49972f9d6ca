// asyncio's Task as a named object: its name (Task-N until set), repr and registry entry. The
// step is task_step.cpp and Task.cancel is task_cancel.cpp.
#include <utility>

#include "sched/scheduler.hpp"
#include "weft/detail/runtime_access.hpp"
#include "weft/detail/task_core.hpp"
#include "weft/detail/time_ns.hpp"

namespace weft::detail {

TaskCore::TaskCore(Scheduler& scheduler, Frame& frame, std::string name, ContextPtr inherited,
                   ContextStatePtr context, SourceLocation created_at)
    : FutureCore(scheduler.reference_for_task()),
      frame_(frame),
      // Numbered now (creation order, as asyncio's counter), formatted only when asked for.
      number_(name.empty() ? scheduler.next_task_number() : 0),
      own_context_(context ? nullptr : std::move(inherited)) {
  // The Extras only for what needs them: a name, a given Context, debug mode's creation site
  // (asyncio keeps _source_traceback only in debug mode too), inspect's figures. Made before the
  // task is shared: nobody else can see extras_ yet.
  const bool inspecting = scheduler.inspecting();
  if (name.empty() && !context && !scheduler.debug() && !inspecting) return;
  Extras& mine = extras();
  mine.name = std::move(name);
  mine.given_context = std::move(context);
  if (scheduler.debug()) mine.created_at = created_at;
  // Age is shown only while inspect is on: a clock read per task then, none otherwise.
  if (inspecting) mine.inspect_created_ns = monotonic_now_ns();
}

TaskCore::Extras& TaskCore::extras() {
  Extras* extras = extras_.load(std::memory_order_acquire);  // acquire: as in find_extras
  if (extras) return *extras;
  auto made = std::make_unique<Extras>();
  // Release on success: whoever loads the pointer sees the record built. Acquire on failure: we
  // use the record another thread (set_name, say, against the task's own Context::run) installed.
  if (!extras_.compare_exchange_strong(extras, made.get(), std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
    return *extras;
  }
  return *made.release();
}

SourceLocation TaskCore::source_traceback() const {
  lock();
  const Extras* extras = find_extras();
  SourceLocation site = extras ? extras->created_at : SourceLocation{};
  unlock();
  return site;
}

ContextStatePtr TaskCore::get_context() {
  if (const Extras* extras = find_extras(); extras && extras->given_context) {
    return extras->given_context;
  }
  // The task's own Context lives inside the task: a handle to it keeps the task alive.
  // (A control block of its own, whose deleter holds the task: rare, and only when asked.)
  return ContextStatePtr(&own_context_, [task = Ref<TaskCore>(this)](ContextState*) {});
}

ContextStatePtr TaskCore::current_context_ptr() {
  if (const Extras* extras = find_extras(); extras && extras->entered_context) {
    return extras->entered_context;
  }
  return get_context();
}

ContextStatePtr TaskCore::exchange_entered_context(ContextStatePtr context) {
  // Leaving a Context::run restores what entering saved; with no Extras that was null, so there
  // is nothing to restore and nothing to allocate.
  Extras* extras = context ? &this->extras() : extras_.load(std::memory_order_acquire);
  if (extras) extras->entered_context.swap(context);
  return context;
}

TaskCore::InspectFigures TaskCore::inspect_figures() const noexcept {
  const Extras* extras = find_extras();
  if (!extras) return {};
  // Relaxed: counts written by the stepping worker alone; a recent value is all the server
  // wants. inspect_created_ns was written before the registry published the task.
  return {extras->inspect_steps.load(std::memory_order_relaxed),
          extras->inspect_step_ns.load(std::memory_order_relaxed), extras->inspect_created_ns};
}

// "Task exception was never retrieved" is reported by ~TypedTask, while repr() still works.
TaskCore::~TaskCore() {
  delete extras_.load(std::memory_order_relaxed);  // relaxed: nobody else holds the task now
}

std::string TaskCore::get_name() const {
  std::string name;
  lock();
  // Under the lock: a set_name() we see the number of has its Extras installed.
  if (const Extras* extras = find_extras()) name = extras->name;
  std::uint64_t number = number_;
  unlock();
  if (number != 0) return "Task-" + std::to_string(number);
  return name;
}

void TaskCore::set_name(std::string name) {
  Extras& extras = this->extras();  // allocated before the lock, as is the name
  lock();
  extras.name.swap(name);
  number_ = 0;  // named now, even if the new name is empty
  unlock();
  // `name` holds the old name now: freed here, outside the lock.
}

std::string TaskCore::repr() const {
  std::string state;
  switch (this->state()) {
    case FutureState::PENDING:
      state = "pending";
      break;
    case FutureState::CANCELLED:
      state = "cancelled";
      break;
    case FutureState::FINISHED:
      state = "finished";
      break;
  }
  std::string text =
      "<Task " + state + " name='" + get_name() + "' coro=<" + coroutine_repr() + ">";
  if (this->state() == FutureState::FINISHED) {
    std::string base = FutureCore::repr();  // "<Task finished exception=...>" or "<Task finished>"
    auto at = base.find(" exception=");
    if (at != std::string::npos) text += base.substr(at, base.size() - at - 1);
  }
  return text + ">";
}

std::string TaskCore::coroutine_repr() const {
  // asyncio's _format_coroutine: "foo() running at file:line" (where a suspended coroutine
  // waits; here, before its first step, where it was defined) or "foo() done, defined at ...".
  std::string text = std::string(frame_.name()) + "()";
  auto at = [](const SourceLocation& site) {
    return std::string(site.file_name()) + ":" + std::to_string(site.line());
  };
  const SourceLocation& defined = frame_.created_at();
  if (done()) {
    if (*defined.file_name()) text += " done, defined at " + at(defined);
    return text;
  }
  SourceLocation site = frame_.await_site();  // atomics: a running body may move it meanwhile
  if (!*site.file_name()) site = defined;
  if (*site.file_name()) text += " running at " + at(site);
  return text;
}

void TaskCore::start() {
  add_ref();  // the runtime's reference: given back by the step that ends done (run())
}

void TaskCore::on_completed() {
  scheduler().registry().remove(*this);
}

}  // namespace weft::detail
