// The fiber switch. This file is compiled without sanitizer instrumentation (see CMakeLists):
// the annotations below must run right before and after the jump, in code that touches no
// instrumented stack memory while the stacks are being swapped.
#include "weft/detail/fiber.hpp"

#include <cxxabi.h>

#include <cstdlib>

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

Fiber::~Fiber() {
  release();
}

void Fiber::start(Entry entry, void* argument, std::size_t stack_size) {
  stack_ = allocate_stack(stack_size);
  entry_ = entry;
  argument_ = argument;
  context_ = ctx::make_fcontext(stack_.top(), stack_.size, &Fiber::trampoline);
#if WEFT_TSAN
  tsan_fiber_ = __tsan_create_fiber(0);
#endif
}

void Fiber::release() noexcept {
  if (!stack_) return;
#if WEFT_TSAN
  __tsan_destroy_fiber(tsan_fiber_);
  tsan_fiber_ = nullptr;
#endif
#if WEFT_ASAN
  // Frames that never returned keep their redzones poisoned (the entry's always; a whole body's
  // when a fiber that ignored GeneratorExit is abandoned). The next fiber on this stack would
  // trip over them: clear the stack's shadow before it goes back to the pool.
  __asan_unpoison_memory_region(stack_.base, stack_.size);
#endif
  release_stack(stack_);
  stack_ = Stack{};
  context_ = nullptr;
}

void Fiber::resume() {
  ensure_overflow_guard_on_this_thread();
  // The fiber's exception-handling state travels with it; ours waits here.
  EhGlobals* globals = thread_eh_globals();
  EhGlobals mine = *globals;
  *globals = eh_globals_;
#if WEFT_ASAN
  void* fake_stack = nullptr;
  __sanitizer_start_switch_fiber(&fake_stack, stack_.base, stack_.size);
#endif
#if WEFT_TSAN
  tsan_resumer_ = __tsan_get_current_fiber();
  __tsan_switch_to_fiber(tsan_fiber_, 0);
#endif
  ctx::transfer_t back = ctx::jump_fcontext(context_, this);
#if WEFT_ASAN
  __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
  context_ = back.fctx;
  globals = thread_eh_globals();
  eh_globals_ = *globals;
  *globals = mine;
}

void Fiber::switch_out() {
#if WEFT_ASAN
  __sanitizer_start_switch_fiber(finished_ ? nullptr : &asan_fake_stack_, resumer_stack_bottom_,
                                 resumer_stack_size_);
#endif
#if WEFT_TSAN
  __tsan_switch_to_fiber(tsan_resumer_, 0);
#endif
  ctx::transfer_t back = ctx::jump_fcontext(resumer_, nullptr);
  // Resumed, possibly by another thread: remember who to return to.
  resumer_ = back.fctx;
#if WEFT_ASAN
  __sanitizer_finish_switch_fiber(asan_fake_stack_, &resumer_stack_bottom_, &resumer_stack_size_);
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
  self->resumer_ = from.fctx;
#if WEFT_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &self->resumer_stack_bottom_,
                                  &self->resumer_stack_size_);
#endif
  self->entry_(self->argument_);
  std::abort();  // entry_ must end with finish()
}

}  // namespace weft::detail
