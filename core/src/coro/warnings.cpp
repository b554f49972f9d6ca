#include "weft/warnings.hpp"

#include <pthread.h>

#include <cstdio>
#include <memory>
#include <mutex>
#include <utility>

namespace weft {
namespace {

void print_to_stderr(const Warning& w) {
  // Python: "file.py:12: RuntimeWarning: coroutine 'f' was never awaited".
  if (!w.file.empty()) {
    std::fprintf(stderr, "%s:%u: %s: %s\n", w.file.c_str(), w.line, w.category.c_str(),
                 w.message.c_str());
  } else {
    std::fprintf(stderr, "%s: %s\n", w.category.c_str(), w.message.c_str());
  }
}

std::mutex handler_mutex;
// Shared so that a handler being replaced stays alive while another thread is still calling it.
std::shared_ptr<WarningHandler> installed_handler;

// fork(): taken before and released after in both processes, so that a child forked while
// another thread was reporting does not find the lock held forever (see block_pool.cpp).
[[maybe_unused]] const int fork_handlers = pthread_atfork(
    [] { handler_mutex.lock(); }, [] { handler_mutex.unlock(); }, [] { handler_mutex.unlock(); });

}  // namespace

WarningHandler set_warning_handler(WarningHandler handler) {
  auto next = handler ? std::make_shared<WarningHandler>(std::move(handler)) : nullptr;
  std::lock_guard lock(handler_mutex);
  auto previous = std::exchange(installed_handler, std::move(next));
  return previous ? *previous : WarningHandler{};
}

void warn(Warning warning) {
  std::shared_ptr<WarningHandler> handler;
  {
    std::lock_guard lock(handler_mutex);
    handler = installed_handler;
  }
  if (handler) {
    (*handler)(warning);
  } else {
    print_to_stderr(warning);
  }
}

}  // namespace weft
