// The inspect server (RunOptions::inspect, architecture.md §18): a thread of its own that
// answers `tools/weft` over a Unix socket only this user may open.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "weft/call_graph.hpp"
#include "weft/detail/task_core.hpp"

namespace weft::detail {

class Scheduler;

// call_graph.cpp: where `task` waits, innermost frame first, read as capture_call_graph reads
// it (safe while workers run: §16). Empty while it runs.
std::vector<FrameCallGraphEntry> call_stack_of(const TaskCore& task);

// What `ps` and `pstree` show of one task, read without stopping it.
struct TaskRow {
  std::uintptr_t id = 0;  // the task's address, as asyncio's id()
  std::string name;
  const char* state = "";                  // running, ready or waiting
  std::vector<FrameCallGraphEntry> stack;  // innermost first; `ps` keeps only the first
  std::vector<std::uintptr_t> awaited_by;  // the tasks that wait for it
  std::int64_t age_ns = -1;                // -1: not known (made before inspect was on)
  std::uint64_t steps = 0;
  std::uint64_t step_ns = 0;
};

// Where a reply goes, a part at a time: `flush` sends `out` and clears it, returning false once
// the client is gone (the reply then stops early).
struct ReplySink {
  std::string out;
  bool (*flush)(void* context, std::string& out);
  void* context;
};

// Reads every task not done and hands each row to `fn(context, row)`: references first, a
// registry shard's lock at a time for a few tasks each (§18), then each task on its own, under
// its own locks only. `full_stacks`: the whole stack, else the innermost frame.
void for_each_task_row(Scheduler& scheduler, bool full_stacks,
                       bool (*fn)(void* context, const TaskRow& row), void* context);

// The reply to one request line, into `sink` (inspect_replies.cpp); an unknown request gives
// one line "error: ...".
void inspect_reply(Scheduler& scheduler, const std::string& request, ReplySink& sink);

class InspectServer {
 public:
  // Binds the socket and starts the thread; null (after a warning) if it cannot serve: the
  // directory is not ours, another runtime in this process serves already, a call failed.
  static std::unique_ptr<InspectServer> start(Scheduler& scheduler);
  ~InspectServer();  // stops the thread, closes and removes the socket
  InspectServer(const InspectServer&) = delete;
  InspectServer& operator=(const InspectServer&) = delete;

  const std::string& path() const noexcept { return path_; }

 private:
  InspectServer(Scheduler& scheduler, std::string path, int listen_fd, int stop_fd);
  void serve();
  void answer(int client);

  Scheduler& scheduler_;
  std::string path_;
  int listen_fd_;
  int stop_fd_;  // an eventfd: written once by the destructor, polled beside the socket
  std::thread thread_;
};

}  // namespace weft::detail
