// loop.add_reader / add_writer / remove_reader / remove_writer: a callback run each time an fd is
// readable (writable), for C libraries that own their fds. Each registration is a watcher task:
// it asks poll(2) whether the fd is ready -- asyncio's callbacks are level-triggered, and the
// reactor's words are edges -- runs the callback if so, yields, and otherwise waits on the
// reactor. Removing the registration cancels the task.
//
// asyncio promises that once remove_reader() returned, the callback is not called again: the
// caller may then free what the callback uses. With several workers the watcher may be between
// its cancellation point and the callback, or inside it, on another thread when remove runs, so
// each registration has a call gate (CallGate below) that the two pass in turn.
#include <poll.h>

#include <atomic>
#include <memory>
#include <thread>

#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "weft/errors.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/sockets.hpp"
#include "weft/task.hpp"

namespace weft {
namespace {

using detail::IoDirection;

// One registration's gate between its watcher's calls and remove(): no call starts after remove()
// marked it, and remove() returns only after a call in progress has ended -- unless remove() is
// made by that call itself (a callback that removes its own registration).
class CallGate {
 public:
  // The watcher, before each call: false once removed (then it must not call).
  bool enter() noexcept {
    int expected = idle;
    // acq_rel: a call begins after remove's mark is seen or not at all (the CAS fails on it).
    return state_.compare_exchange_strong(expected, calling, std::memory_order_acq_rel,
                                          std::memory_order_acquire);
  }
  // The watcher, after each call: false if remove() came meanwhile (then it must stop).
  bool leave() noexcept {
    int expected = calling;
    // Release: what the call did happens before the waiting remove() returns.
    if (state_.compare_exchange_strong(expected, idle, std::memory_order_release,
                                       std::memory_order_relaxed)) {
      return true;
    }
    state_.store(removed, std::memory_order_release);  // was removed_during_call: release it
    return false;
  }
  // remove(): marks the gate; returns whether a call was in progress (which must be waited for).
  bool close() noexcept {
    int state = state_.load(std::memory_order_relaxed);
    for (;;) {
      if (state == removed || state == removed_during_call) return false;
      const int next = state == calling ? removed_during_call : removed;
      // acq_rel: pairs with enter()'s CAS, so exactly one of the two wins the word.
      if (state_.compare_exchange_weak(state, next, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
        return state == calling;
      }
    }
  }
  // Acquire: pairs with leave()'s release store.
  bool call_ended() const noexcept { return state_.load(std::memory_order_acquire) == removed; }

  // The watcher task's identity (never dereferenced): set before its first enter().
  const void* watcher = nullptr;

 private:
  enum : int { idle, calling, removed, removed_during_call };
  std::atomic<int> state_{idle};
};

struct Watched {
  detail::IoHandle io;
  std::optional<Task<void>> watchers[2];  // read, write
  std::shared_ptr<CallGate> gates[2];
  std::uint64_t ids[2] = {0, 0};
};

const void* task_identity() noexcept {
  TaskRef task = current_task_or_null();
  return task ? static_cast<const void*>(&task.core()) : nullptr;
}

// Waits until the call that `gate` found in progress has ended. A callback that removes its own
// registration does not wait for itself; on one worker the call in progress cannot be running
// (only this task runs), so it is suspended inside the callback, and waiting would never end.
void wait_for_call(const CallGate& gate) {
  if (gate.watcher == task_identity() || get_running_loop().workers() == 1) return;
  while (!gate.call_ended()) std::this_thread::yield();
}

// Per runtime and fd. A mutex: add/remove come from any task, on any worker.
std::mutex registry_mutex;
std::map<std::pair<const Runtime*, int>, Watched> registry;
std::uint64_t next_id = 0;  // guarded by registry_mutex

void report(const std::string& what, std::exception_ptr error) {
  get_running_loop().call_exception_handler(
      ExceptionContext{.message = "Exception in callback " + what,
                       .exception = std::move(error),
                       .future = {},
                       .task = {},
                       .handle = "<Handle " + what + ">",
                       .source_traceback = {},
                       .context = nullptr});
}

void forget(const Runtime* loop, int fd, unsigned direction, std::uint64_t id) {
  detail::IoHandle unregister;
  {
    std::lock_guard hold(registry_mutex);
    auto it = registry.find({loop, fd});
    if (it == registry.end() || it->second.ids[direction] != id) return;  // replaced already
    it->second.ids[direction] = 0;
    it->second.watchers[direction].reset();
    it->second.gates[direction].reset();
    if (it->second.ids[1 - direction] == 0) {
      unregister = std::move(it->second.io);
      registry.erase(it);
    }
  }
  detail::io_unregister(unregister);
}

void watch(const Runtime* loop, int fd, unsigned direction, std::uint64_t id, detail::IoHandle io,
           std::shared_ptr<CallGate> gate, std::function<void()> callback) {
  struct Forget {
    const Runtime* loop;
    int fd;
    unsigned direction;
    std::uint64_t id;
    ~Forget() { forget(loop, fd, direction, id); }
  } on_exit{loop, fd, direction, id};
  // Read by remove() only after our first enter(), whose CAS publishes it.
  gate->watcher = task_identity();
  const std::string what =
      std::string(direction == 0 ? "add_reader" : "add_writer") + "(fd=" + std::to_string(fd) + ")";
  const short events = direction == 0 ? POLLIN : POLLOUT;
  for (;;) {
    pollfd probe{fd, events, 0};
    if (::poll(&probe, 1, 0) > 0) {
      if (!gate->enter()) return;  // removed: not one more call
      try {
        callback();
      } catch (const CancelledError&) {
        gate->leave();
        throw;
      } catch (...) {
        report(what, std::current_exception());  // never fatal: asyncio's Handle._run
      }
      if (!gate->leave()) return;
      weft::sleep(0.0);  // one call per loop pass, as asyncio's selector loop makes
      continue;
    }
    try {
      detail::io_wait(io, direction == 0 ? IoDirection::read : IoDirection::write);
    } catch (const OSError&) {
      return;  // unregistered by remove_reader / remove_writer: we are being cancelled
    }
  }
}

bool remove(int fd, unsigned direction) {
  const Runtime* loop = &get_running_loop();
  std::optional<Task<void>> watcher;
  std::shared_ptr<CallGate> gate;
  detail::IoHandle unregister;
  {
    std::lock_guard hold(registry_mutex);
    auto it = registry.find({loop, fd});
    if (it == registry.end() || it->second.ids[direction] == 0) return false;
    watcher = std::move(it->second.watchers[direction]);
    it->second.watchers[direction].reset();
    gate = std::move(it->second.gates[direction]);
    it->second.ids[direction] = 0;
    if (it->second.ids[1 - direction] == 0) {
      unregister = std::move(it->second.io);
      registry.erase(it);
    }
  }
  if (gate && gate->close()) wait_for_call(*gate);
  if (watcher) watcher->cancel();
  // Now, not when the watcher ends: the caller may close the fd as soon as we return.
  detail::io_unregister(unregister);
  return true;
}

void add(int fd, unsigned direction, std::function<void()> callback) {
  remove(fd, direction);  // asyncio replaces a previous callback
  const Runtime* loop = &get_running_loop();
  detail::IoHandle io;
  std::uint64_t id;
  auto gate = std::make_shared<CallGate>();
  {
    std::lock_guard hold(registry_mutex);
    Watched& entry = registry[{loop, fd}];
    if (!entry.io) entry.io = detail::io_register(fd);
    io = entry.io;
    id = ++next_id;
    entry.ids[direction] = id;
    entry.gates[direction] = gate;
  }
  auto task = create_task(coro(watch, loop, fd, direction, id, io, gate, std::move(callback)));
  {
    std::lock_guard hold(registry_mutex);
    auto it = registry.find({loop, fd});
    if (it != registry.end() && it->second.ids[direction] == id) {
      it->second.watchers[direction] = std::move(task);
      return;
    }
  }
  task.cancel();  // removed (or replaced) while we made it
}

}  // namespace

void add_reader(int fd, std::function<void()> callback) {
  add(fd, 0, std::move(callback));
}
void add_writer(int fd, std::function<void()> callback) {
  add(fd, 1, std::move(callback));
}
bool remove_reader(int fd) {
  return remove(fd, 0);
}
bool remove_writer(int fd) {
  return remove(fd, 1);
}

}  // namespace weft
