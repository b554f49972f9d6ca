// Internal: how code that may run on a fiber reads and writes a thread_local (docs/architecture.md,
// "Thread-locals across a fiber migration").
//
// A fiber may resume on another thread after any suspension, and the compiler does not know it:
// inside one function it may compute a thread_local's address once and reuse it after a call that
// switched threads, reaching the old thread's variable (pthread_self() is even declared const).
// So every thread-local that fiber code touches is read and written only through a function the
// compiler can neither inline nor see through; these macros define such functions, and nothing
// else in weft touches those variables.
#pragma once

// Defines `type function() noexcept`, returning `variable` as this thread sees it now.
#define WEFT_FIBER_SAFE_TLS_LOAD(function, type, variable) \
  __attribute__((noinline)) type function() noexcept {     \
    type value = variable;                                 \
    asm volatile("" ::: "memory");                         \
    return value;                                          \
  }

// Defines `void function(type value) noexcept`, storing into this thread's `variable`.
#define WEFT_FIBER_SAFE_TLS_STORE(function, type, variable)      \
  __attribute__((noinline)) void function(type value) noexcept { \
    asm volatile("" ::: "memory");                               \
    variable = value;                                            \
  }
