// loop.add_reader / add_writer / remove_reader / remove_writer: a callback run each time an fd is
// readable (writable), for C libraries that own their fds. Each registration is a watcher task:
// it asks poll(2) whether the fd is ready -- asyncio's callbacks are level-triggered, and the
// reactor's words are edges -- runs the callback if so, yields, and otherwise waits on the
// reactor. Removing the registration cancels the task.
#include <poll.h>

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

struct Watched {
  detail::IoHandle io;
  std::optional<Task<void>> watchers[2];  // read, write
  std::uint64_t ids[2] = {0, 0};
};

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
    if (it->second.ids[1 - direction] == 0) {
      unregister = std::move(it->second.io);
      registry.erase(it);
    }
  }
  detail::io_unregister(unregister);
}

void watch(const Runtime* loop, int fd, unsigned direction, std::uint64_t id, detail::IoHandle io,
           std::function<void()> callback) {
  struct Forget {
    const Runtime* loop;
    int fd;
    unsigned direction;
    std::uint64_t id;
    ~Forget() { forget(loop, fd, direction, id); }
  } on_exit{loop, fd, direction, id};
  const std::string what =
      std::string(direction == 0 ? "add_reader" : "add_writer") + "(fd=" + std::to_string(fd) + ")";
  const short events = direction == 0 ? POLLIN : POLLOUT;
  for (;;) {
    pollfd probe{fd, events, 0};
    if (::poll(&probe, 1, 0) > 0) {
      try {
        callback();
      } catch (const CancelledError&) {
        throw;
      } catch (...) {
        report(what, std::current_exception());  // never fatal: asyncio's Handle._run
      }
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
  detail::IoHandle unregister;
  {
    std::lock_guard hold(registry_mutex);
    auto it = registry.find({loop, fd});
    if (it == registry.end() || it->second.ids[direction] == 0) return false;
    watcher = std::move(it->second.watchers[direction]);
    it->second.watchers[direction].reset();
    it->second.ids[direction] = 0;
    if (it->second.ids[1 - direction] == 0) {
      unregister = std::move(it->second.io);
      registry.erase(it);
    }
  }
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
  {
    std::lock_guard hold(registry_mutex);
    Watched& entry = registry[{loop, fd}];
    if (!entry.io) entry.io = detail::io_register(fd);
    io = entry.io;
    id = ++next_id;
    entry.ids[direction] = id;
  }
  auto task = create_task(coro(watch, loop, fd, direction, id, io, std::move(callback)));
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
