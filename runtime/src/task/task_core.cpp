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
      scheduler_(scheduler),
      frame_(frame),
      // Numbered now (creation order, as asyncio's counter), formatted only when asked for.
      number_(name.empty() ? scheduler.next_task_number() : 0),
      own_context_(context ? nullptr : std::move(inherited)),
      given_context_(std::move(context)) {
  wakeup_waiter_.task = this;
  // The side allocation only for a name, or for debug mode's creation site (asyncio keeps
  // _source_traceback only in debug mode too).
  if (!name.empty() || scheduler.debug()) {
    name_ = std::make_unique<NameAndSite>(NameAndSite{std::move(name), SourceLocation{}});
    if (scheduler.debug()) name_->created_at = created_at;
  }
  // Age is shown only while inspect is on: a clock read per task then, none otherwise.
  if (scheduler.inspecting()) inspect_created_ns = monotonic_now_ns();
}

SourceLocation TaskCore::source_traceback() const {
  lock();
  SourceLocation site = name_ ? name_->created_at : SourceLocation{};
  unlock();
  return site;
}

ContextStatePtr TaskCore::get_context() {
  if (given_context_) return given_context_;
  // The task's own Context lives inside the task: a handle to it keeps the task alive.
  return ContextStatePtr(std::static_pointer_cast<TaskCore>(shared_from_this()), &own_context_);
}

// "Task exception was never retrieved" is reported by ~TypedTask, while repr() still works.
TaskCore::~TaskCore() = default;

std::string TaskCore::get_name() const {
  lock();
  std::string name = name_ ? name_->name : std::string();
  std::uint64_t number = number_;
  unlock();
  if (number != 0) return "Task-" + std::to_string(number);
  return name;
}

void TaskCore::set_name(std::string name) {
  // Allocated before the lock.
  auto named = std::make_unique<NameAndSite>(NameAndSite{std::move(name), SourceLocation{}});
  lock();
  if (name_) named->created_at = name_->created_at;
  name_.swap(named);
  number_ = 0;  // named now, even if the new name is empty
  unlock();
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
  std::string text = frame_.name() + "()";
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
  self_ = std::static_pointer_cast<TaskCore>(shared_from_this());
}

void TaskCore::on_completed() {
  scheduler_.registry().remove(*this);
}

}  // namespace weft::detail
