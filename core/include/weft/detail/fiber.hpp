// Internal: an asymmetric fiber over Boost.Context's fcontext. resume() runs it until it calls
// suspend() or finish(); each switch tells ASan and TSan about the change of stacks and carries
// the C++ exception-handling globals with the fiber, so a fiber suspended inside a catch block
// can resume on another thread.
#pragma once

#include <boost/context/detail/fcontext.hpp>
#include <cstddef>

#include "weft/detail/stack_pool.hpp"

namespace weft::detail {

// The per-thread state of libstdc++/libc++abi exception handling (__cxa_eh_globals).
struct EhGlobals {
  void* caught_exceptions = nullptr;
  unsigned int uncaught_exceptions = 0;
};

class Fiber {
 public:
  using Entry = void (*)(void* argument);

  Fiber() = default;
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;
  ~Fiber();

  // Gives the fiber a stack; `entry(argument)` runs at the first resume() and must end with
  // finish(). Called by the thread that will first resume it.
  void start(Entry entry, void* argument, std::size_t stack_size);
  bool started() const noexcept { return live_ != nullptr; }
  bool finished() const noexcept { return finished_; }

  // Caller side: switch into the fiber; returns once it suspends or finishes.
  void resume();
  // Fiber side: switch back to whoever resumed us; returns at the next resume().
  void suspend();
  // Fiber side: the last switch. The stack may be released once resume() returns.
  [[noreturn]] void finish();

  // Gives the stack back without running the fiber to its end (its frames are abandoned).
  void release() noexcept;

  // A hint that the fiber will be resumed soon: starts loading the cache line its resume()
  // reads first (its record at the top of its stack), so that the miss overlaps other work.
  // Only while the fiber cannot be released meanwhile (it is suspended and held there).
  void prefetch_resume() const noexcept {
    if (live_) __builtin_prefetch(live_);
  }

 private:
  // What the fiber needs only while it holds a stack -- its saved contexts, the stack itself, its
  // exception-handling state, the sanitizers' bookkeeping -- lives at the top of that stack
  // (fiber.cpp), not here: a coroutine that has not started or has ended carries none of it, and
  // a suspended one keeps it on the stack page it has touched anyway.
  struct Live;
  static void trampoline(boost::context::detail::transfer_t from);
  void switch_out();

  Live* live_ = nullptr;  // inside the stack, from start() to release()
  bool finished_ = false;
};

}  // namespace weft::detail
