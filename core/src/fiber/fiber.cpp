// The fiber switch. This file is compiled without sanitizer instrumentation (see CMakeLists):
// the annotations below must run right before and after the jump, in code that touches no
// instrumented stack memory while the stacks are being swapped.
#include "weft/detail/fiber.hpp"

#include <cxxabi.h>

#include <cstdint>
#include <cstdlib>
#include <new>

#include "weft/detail/overflow_guard.hpp"

#if WEFT_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif
#if WEFT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace ctx = boost::context::detail;

namespace weft::detail {
namespace {

EhGlobals* thread_eh_globals() {
  // __cxa_get_globals() re-reads the thread pointer on every call, so it is right after a
  // migration (a cached address would not be; see architecture.md §3).
  return reinterpret_cast<EhGlobals*>(abi::__cxa_get_globals());
}

}  // namespace

// The fiber's live state, placed at the top of its own stack by start(): the stack is taken at
// the first resume and given back at release(), and so is everything here.
struct Fiber::Live {
  Live(Stack given, Entry body, void* body_argument)
      : stack(given), entry(body), argument(body_argument) {}
  Stack stack;
  Entry entry;
  void* argument;
  ctx::fcontext_t context = nullptr;  // the fiber, while it is switched out
  ctx::fcontext_t resumer = nullptr;  // its resumer, while it runs
  EhGlobals eh_globals;               // the fiber's exception-handling state while switched out
#if WEFT_ASAN
  void* asan_fake_stack = nullptr;
  const void* resumer_stack_bottom = nullptr;
  std::size_t resumer_stack_size = 0;
#endif
#if WEFT_TSAN
  void* tsan_fiber = nullptr;
  void* tsan_resumer = nullptr;
#endif
  // The part of the stack below this record, which the fiber's frames may use.
  std::size_t usable() const noexcept {
    return static_cast<std::size_t>(reinterpret_cast<const char*>(this) -
                                    static_cast<const char*>(stack.base));
  }
};

Fiber::~Fiber() {
  release();
}

void Fiber::start(Entry entry, void* argument, std::size_t stack_size) {
  Stack stack = allocate_stack(stack_size);
  // The record goes at the top, on a cache line of its own; the frames grow down below it.
  auto top = reinterpret_cast<std::uintptr_t>(stack.top());
  auto* place = reinterpret_cast<void*>((top - sizeof(Live)) & ~std::uintptr_t{63});
  live_ = new (place) Live(stack, entry, argument);
  live_->context = ctx::make_fcontext(place, live_->usable(), &Fiber::trampoline);
#if WEFT_TSAN
  live_->tsan_fiber = __tsan_create_fiber(0);
#endif
}

void Fiber::release() noexcept {
  if (!live_) return;
  Stack stack = live_->stack;
#if WEFT_TSAN
  __tsan_destroy_fiber(live_->tsan_fiber);
#endif
  live_->~Live();  // trivial; the record is memory of the stack going back
  live_ = nullptr;
#if WEFT_ASAN
  // Frames that never returned keep their redzones poisoned (the entry's always; a whole body's
  // when a fiber that ignored GeneratorExit is abandoned). The next fiber on this stack would
  // trip over them: clear the stack's shadow before it goes back to the pool.
  __asan_unpoison_memory_region(stack.base, stack.size);
#endif
  release_stack(stack);
}

void Fiber::resume() {
  ensure_overflow_guard_on_this_thread();
  Live& live = *live_;
  // The fiber's exception-handling state travels with it; ours waits here.
  EhGlobals* globals = thread_eh_globals();
  EhGlobals mine = *globals;
  *globals = live.eh_globals;
#if WEFT_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, live.stack.base, live.usable());
#endif
#if WEFT_TSAN
  live.tsan_resumer = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(live.tsan_fiber, 0);
#endif
  ctx::transfer_t back = ctx::jump_fcontext(live.context, this);
#if WEFT_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  // The fiber is off its stack again (suspended or finished): its record stays until release().
  live.context = back.fctx;
  globals = thread_eh_globals();
  live.eh_globals = *globals;
  *globals = mine;
}

void Fiber::switch_out() {
  Live& live = *live_;
#if WEFT_ASAN
  __sanitizer_start_switch_fiber(finished_ ? nullptr : &live.asan_fake_stack,
                                 live.resumer_stack_bottom, live.resumer_stack_size);
#endif
#if WEFT_TSAN
  __tsan_switch_to_fiber(live.tsan_resumer, 0);
#endif
  ctx::transfer_t back = ctx::jump_fcontext(live.resumer, nullptr);
  // Resumed, possibly by another thread: remember who to return to.
  live.resumer = back.fctx;
#if WEFT_ASAN
  __sanitizer_finish_switch_fiber(live.asan_fake_stack, &live.resumer_stack_bottom,
                                  &live.resumer_stack_size);
#endif
}

void Fiber::suspend() {
  switch_out();
}

void Fiber::finish() {
  finished_ = true;
  switch_out();
  std::abort();  // a finished fiber is never resumed
}

void Fiber::trampoline(ctx::transfer_t from) {
  auto* self = static_cast<Fiber*>(from.data);
  Live& live = *self->live_;
  live.resumer = from.fctx;
#if WEFT_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &live.resumer_stack_bottom, &live.resumer_stack_size);
#endif
  live.entry(live.argument);
  std::abort();  // entry must end with finish()
}

}  // namespace weft::detail
