// What the inspect server answers (architecture.md §18): the tasks (`ps`, `pstree`, as JSON for
// tools/weft to lay out), the metrics (`metrics`, Prometheus' text format, for any scraper), and
// both at once (`top`). Everything is read while the workers run: no worker is paused.
#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <string>
#include <unordered_map>
#include <vector>

#include "inspect/inspect_server.hpp"
#include "sched/scheduler.hpp"
#include "weft/detail/time_ns.hpp"
#include "weft/runtime_metrics.hpp"

namespace weft::detail {
namespace {

// A registry shard's lock is held for this many tasks at a time: a reference count each, about
// a microsecond in all, so a worker creating or ending a task waits no longer than that.
constexpr std::size_t kRegistryBatch = 64;

const char* state_name(const TaskCore& task) {
  switch (task.run_state()) {
    case TaskState::running:
    case TaskState::notified:
      return "running";
    case TaskState::scheduled:
      return "ready";
    case TaskState::idle:
      return "waiting";
    case TaskState::done:
      return "done";
  }
  return "?";
}

// Under the task's future lock (visit_awaited_by): the awaiters that are tasks.
void note_awaiter(void* out, FutureCore& awaiter, bool) {
  if (dynamic_cast<const TaskCore*>(&awaiter)) {
    auto& ids = *static_cast<std::vector<std::uintptr_t>*>(out);
    auto id = reinterpret_cast<std::uintptr_t>(&awaiter);
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
}

void append_json_string(std::string& out, const std::string& text) {
  out += '"';
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

void append_id(std::string& out, std::uintptr_t id) {
  char text[32];
  std::snprintf(text, sizeof text, "\"0x%llx\"", static_cast<unsigned long long>(id));
  out += text;
}

const char* kind_tag(CallFrameKind kind) {
  switch (kind) {
    case CallFrameKind::function:
      return "function";
    case CallFrameKind::coroutine:
      return "coroutine";
    case CallFrameKind::async_generator:
      return "async generator";
    case CallFrameKind::generator:
      return "generator";
  }
  return "";
}

// Source files by number: a stack names its file by index into the reply's "files", so the
// paths of 100,000 tasks waiting at the same few lines are sent once.
struct FileTable {
  std::unordered_map<std::string, std::size_t> index;
  std::vector<const std::string*> names;  // in index order (keys of `index`, which stay put)
  std::size_t number(const std::string& file) {
    auto [at, added] = index.try_emplace(file, names.size());
    if (added) names.push_back(&at->first);
    return at->second;
  }
};

void append_task_json(std::string& out, const TaskRow& row, FileTable& files) {
  out += "{\"id\":";
  append_id(out, row.id);
  out += ",\"name\":";
  append_json_string(out, row.name);
  out += ",\"state\":\"";
  out += row.state;
  out += "\",\"stack\":[";
  for (std::size_t i = 0; i < row.stack.size(); ++i) {
    const auto& entry = row.stack[i];
    if (i) out += ',';
    out += "{\"file\":" + std::to_string(files.number(entry.frame.filename));
    out += ",\"line\":" + std::to_string(entry.frame.lineno) + ",\"name\":";
    append_json_string(out, entry.frame.name);
    if (entry.kind != CallFrameKind::coroutine) {  // the usual kind goes without saying
      out += ",\"kind\":\"";
      out += kind_tag(entry.kind);
      out += '"';
    }
    out += '}';
  }
  out += "],\"awaited_by\":[";
  for (std::size_t i = 0; i < row.awaited_by.size(); ++i) {
    if (i) out += ',';
    append_id(out, row.awaited_by[i]);
  }
  out += "],\"age_ns\":";
  out += row.age_ns < 0 ? std::string("null") : std::to_string(row.age_ns);
  out += ",\"steps\":" + std::to_string(row.steps);
  out += ",\"cpu_ns\":" + std::to_string(row.step_ns);
  out += '}';
}

// "tasks":[...],"files":[...], sent a part at a time: a dump of 100,000 tasks is never one
// 20 MB string.
void append_tasks_json(Scheduler& scheduler, bool full_stacks, ReplySink& sink) {
  constexpr std::size_t kPart = 64 * 1024;
  struct Writer {
    ReplySink& sink;
    FileTable files;
    bool first = true;
    bool open = true;  // the client still takes the reply
  } writer{sink, {}};
  sink.out += "\"tasks\":[";
  for_each_task_row(
      scheduler, full_stacks,
      [](void* context, const TaskRow& row) {
        auto& w = *static_cast<Writer*>(context);
        if (!w.first) w.sink.out += ",\n";
        w.first = false;
        append_task_json(w.sink.out, row, w.files);
        if (w.sink.out.size() >= kPart) w.open = w.sink.flush(w.sink.context, w.sink.out);
        return w.open;
      },
      &writer);
  sink.out += "],\n\"files\":[";
  for (std::size_t i = 0; i < writer.files.names.size(); ++i) {
    if (i) sink.out += ',';
    append_json_string(sink.out, *writer.files.names[i]);
  }
  sink.out += ']';
}

// The metrics, one JSON object (for top).
void append_metrics_json(std::string& out, const RuntimeMetrics& m) {
  auto field = [&out](const char* name, std::uint64_t value, bool comma = true) {
    if (comma) out += ',';
    out += '"';
    out += name;
    out += "\":" + std::to_string(value);
  };
  out += "{\"num_workers\":" + std::to_string(m.num_workers);
  field("num_alive_tasks", m.num_alive_tasks);
  field("injection_queue_depth", m.injection_queue_depth);
  field("timer_waiters", m.timer_waiters);
  field("io_waiters", m.io_waiters);
  field("remote_spawned_tasks_count", m.remote_spawned_tasks_count);
  field("stacks_in_use", m.stacks_in_use);
  out += ",\"workers\":[";
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    const WorkerMetrics& w = m.workers[i];
    if (i) out += ',';
    out += '{';
    field("step_count", w.step_count, false);
    field("steal_count", w.steal_count);
    field("park_count", w.park_count);
    field("local_queue_depth", w.local_queue_depth);
    field("busy_ns", w.busy_ns);
    field("spawned_tasks_count", w.spawned_tasks_count);
    out += '}';
  }
  out += "]}";
}

// Prometheus' text exposition format: a HELP and TYPE line per family, then its samples.
std::string prometheus_text(const RuntimeMetrics& m) {
  std::string out;
  auto family = [&out](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + ' ' + help + "\n# TYPE " + name + ' ' + type + '\n';
  };
  auto sample = [&out](const char* name, std::uint64_t value) {
    out += std::string(name) + ' ' + std::to_string(value) + '\n';
  };
  family("weft_workers", "gauge", "Worker threads.");
  sample("weft_workers", m.num_workers);
  family("weft_alive_tasks", "gauge", "Tasks created and not done.");
  sample("weft_alive_tasks", m.num_alive_tasks);
  family("weft_injection_queue_depth", "gauge", "Work submitted from outside, not picked up yet.");
  sample("weft_injection_queue_depth", m.injection_queue_depth);
  family("weft_timer_waiters", "gauge", "Tasks suspended in a sleep.");
  sample("weft_timer_waiters", m.timer_waiters);
  family("weft_io_waiters", "gauge", "Tasks suspended on a file descriptor.");
  sample("weft_io_waiters", m.io_waiters);
  family("weft_stacks_in_use", "gauge", "Fiber stacks taken and not given back.");
  sample("weft_stacks_in_use", m.stacks_in_use);
  family("weft_remote_spawned_tasks_total", "counter", "Tasks created off the workers.");
  sample("weft_remote_spawned_tasks_total", m.remote_spawned_tasks_count);

  struct PerWorker {
    const char* name;
    const char* type;
    const char* help;
    std::uint64_t WorkerMetrics::*field;
  };
  static constexpr PerWorker per_worker[] = {
      {"weft_worker_steps_total", "counter", "Runnables run: task steps, callbacks, timers.",
       &WorkerMetrics::step_count},
      {"weft_worker_steals_total", "counter", "Tasks taken from other workers.",
       &WorkerMetrics::steal_count},
      {"weft_worker_steal_operations_total", "counter", "Successful steals.",
       &WorkerMetrics::steal_operations},
      {"weft_worker_parks_total", "counter", "Times the worker slept for want of work.",
       &WorkerMetrics::park_count},
      {"weft_worker_unparks_total", "counter", "Times another thread woke the worker.",
       &WorkerMetrics::unpark_count},
      {"weft_worker_lifo_slot_hits_total", "counter", "Woken tasks run next from the LIFO slot.",
       &WorkerMetrics::lifo_slot_hits},
      {"weft_worker_hand_offs_total", "counter", "Children run from create_task.",
       &WorkerMetrics::hand_offs},
      {"weft_worker_local_queue_depth", "gauge", "Tasks in the worker's own queues.",
       &WorkerMetrics::local_queue_depth},
      {"weft_worker_spawned_tasks_total", "counter", "Tasks created on the worker.",
       &WorkerMetrics::spawned_tasks_count},
      {"weft_worker_overflows_total", "counter", "Local queue spills to the injection queue.",
       &WorkerMetrics::overflow_count},
      {"weft_worker_block_pool_hits_total", "counter", "Task memory recycled.",
       &WorkerMetrics::block_pool_hits},
      {"weft_worker_block_pool_misses_total", "counter", "Task memory asked of malloc.",
       &WorkerMetrics::block_pool_misses},
      {"weft_worker_stack_pool_hits_total", "counter", "Fiber stacks taken warm.",
       &WorkerMetrics::stack_pool_hits},
      {"weft_worker_stack_pool_misses_total", "counter", "Fiber stacks taken fresh.",
       &WorkerMetrics::stack_pool_misses},
      {"weft_worker_stacks_released_total", "counter", "Fiber stacks given back.",
       &WorkerMetrics::stacks_released},
  };
  for (const PerWorker& f : per_worker) {
    family(f.name, f.type, f.help);
    for (std::size_t i = 0; i < m.workers.size(); ++i) {
      out += std::string(f.name) + "{worker=\"" + std::to_string(i) + "\"} " +
             std::to_string(m.workers[i].*f.field) + '\n';
    }
  }
  family("weft_worker_busy_seconds_total", "counter", "Time not parked.");
  for (std::size_t i = 0; i < m.workers.size(); ++i) {
    char value[32];
    std::snprintf(value, sizeof value, "%.9f", static_cast<double>(m.workers[i].busy_ns) * 1e-9);
    out += "weft_worker_busy_seconds_total{worker=\"" + std::to_string(i) + "\"} " + value + '\n';
  }
  return out;
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

}  // namespace

void for_each_task_row(Scheduler& scheduler, bool full_stacks,
                       bool (*fn)(void* context, const TaskRow& row), void* context) {
  // References first, a few under each shard lock; then each task read with no registry lock.
  auto tasks = scheduler.registry().snapshot_in_batches(kRegistryBatch);
  const bool timed = scheduler.inspecting();
  const std::int64_t now = monotonic_now_ns();
  TaskRow row;
  for (auto& task : tasks) {
    row.id = reinterpret_cast<std::uintptr_t>(static_cast<FutureCore*>(task.get()));
    row.name = task->get_name();  // the task's lock, a few instructions
    row.state = state_name(*task);
    row.stack = call_stack_of(*task);  // the awaited future's lock, if it waits on one
    if (!full_stacks && row.stack.size() > 1) row.stack.resize(1);
    row.awaited_by.clear();
    task->visit_awaited_by(&note_awaiter, &row.awaited_by);  // the task's future lock
    const TaskCore::InspectFigures figures = task->inspect_figures();
    row.steps = figures.steps;
    row.step_ns = figures.step_ns;
    row.age_ns = timed && figures.created_ns != 0 ? now - figures.created_ns : -1;
    // Our reference goes now, not at the end: a task that ended meanwhile is freed here, on this
    // thread (its last reference), as it would be by any holder of a TaskRef.
    task.reset();
    if (!fn(context, row)) return;
  }
}

void inspect_reply(Scheduler& scheduler, const std::string& request, ReplySink& sink) {
  const std::string what = trimmed(request);
  const std::string pid = std::to_string(getpid());
  if (what == "ps" || what == "pstree") {
    sink.out += "{\"pid\":" + pid + ",";
    append_tasks_json(scheduler, what == "pstree", sink);
    sink.out += "}\n";
    return;
  }
  if (what == "metrics") {
    sink.out += prometheus_text(scheduler.metrics());
    return;
  }
  if (what == "top") {
    sink.out += "{\"pid\":" + pid + ",\"metrics\":";
    append_metrics_json(sink.out, scheduler.metrics());
    sink.out += ",";
    append_tasks_json(scheduler, false, sink);
    sink.out += "}\n";
    return;
  }
  std::string shown = what.substr(0, 40);
  for (char& c : shown) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  }
  sink.out += "error: unknown request '" + shown + "' (expected ps, pstree, top or metrics)\n";
}

}  // namespace weft::detail
