// A stack overflow in a coroutine touches its guard region and raises SIGSEGV on a stack that has
// no room left, so the handler runs on a per-thread alternate signal stack. It reports only
// faults inside a guard region; any other fault goes to the handler that was there before us.
#include "weft/detail/overflow_guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "weft/detail/stack_pool.hpp"

namespace weft::detail {
namespace {

struct sigaction previous_action;

void write_all(const char* text, std::size_t length) {
  while (length > 0) {
    ssize_t n = write(STDERR_FILENO, text, length);
    if (n <= 0) return;
    text += n;
    length -= static_cast<std::size_t>(n);
  }
}

void on_segv(int signal, siginfo_t* info, void* context) {
  auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (is_stack_guard_address(address)) {
    char message[512];
    const char* name = running_coroutine_name();
    int length = std::snprintf(message, sizeof message,
                               "weft: stack overflow in coroutine '%s' (it touched the guard page "
                               "below its stack at %p); give it a bigger stack with "
                               "weft::set_default_stack_size\n",
                               name ? name : "<unknown>", info->si_addr);
    if (length > 0) write_all(message, std::min<std::size_t>(length, sizeof message - 1));
    ::signal(SIGABRT, SIG_DFL);
    std::abort();
  }
  // Not ours: give the fault back to whoever handled it before (ASan, a crash reporter, or the
  // default action, which re-faults and dumps core).
  if (previous_action.sa_flags & SA_SIGINFO) {
    if (previous_action.sa_sigaction) return previous_action.sa_sigaction(signal, info, context);
  } else if (previous_action.sa_handler != SIG_DFL && previous_action.sa_handler != SIG_IGN) {
    return previous_action.sa_handler(signal);
  }
  ::signal(SIGSEGV, SIG_DFL);  // returning re-executes the access, which now dumps core
}

void install_handler() {
  struct sigaction action {};
  action.sa_sigaction = &on_segv;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  sigaction(SIGSEGV, &action, &previous_action);
}

struct AltStack {
  void* memory = nullptr;
  std::size_t size = 0;
  AltStack() {
    size = std::max<std::size_t>(SIGSTKSZ, 64 * 1024);
    memory = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) {
      memory = nullptr;
      return;
    }
    stack_t stack{};
    stack.ss_sp = memory;
    stack.ss_size = size;
    stack_t old{};
    // Keep an alternate stack someone else (a sanitizer) already installed.
    if (sigaltstack(nullptr, &old) == 0 && !(old.ss_flags & SS_DISABLE)) {
      munmap(memory, size);
      memory = nullptr;
      return;
    }
    sigaltstack(&stack, nullptr);
  }
  ~AltStack() {
    if (!memory) return;
    stack_t disable{};
    disable.ss_flags = SS_DISABLE;
    sigaltstack(&disable, nullptr);
    munmap(memory, size);
  }
};

}  // namespace

__attribute__((noinline)) void ensure_overflow_guard_on_this_thread() {
  static std::once_flag handler_once;
  thread_local bool ready = false;
  if (ready) return;
  std::call_once(handler_once, install_handler);
  thread_local AltStack alt_stack;
  ready = true;
}

}  // namespace weft::detail
