// Internal: the execution frame behind Coroutine, Generator and AsyncGenerator -- one atomic
// state word, a lazily started fiber, and the slots through which values and exceptions cross
// the suspension point.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include "weft/source_location.hpp"

#include "weft/detail/block_pool.hpp"
#include "weft/detail/fiber.hpp"

namespace weft::detail {

enum class FrameKind : std::uint8_t { coroutine, generator, async_generator };

// The state word. CREATED -> RUNNING <-> SUSPENDED -> CLOSED; DELEGATED is a coroutine that
// another one awaits inline on its own stack (Python's `await coro`): it reports its host's state.
enum class FrameState : std::uint32_t { created, running, suspended, closed, delegated };

class LocalBinding;

// How a driver takes a step's outcome before the step publishes SUSPENDED or CLOSED. After that,
// another thread may resume the body (which then overwrites or destroys the value it had
// suspended with) or step the closed frame. on_yield(context, yielded) runs when the body
// suspended, on_return(context) when it has just returned (never for a frame that was already
// closed). Frame::yielded() and the stored result are safe to read after the step only when
// nobody else drives the frame (a task's own step).
struct FrameReceiver {
  void (*on_yield)(void* context, void* yielded) = nullptr;
  void (*on_return)(void* context) = nullptr;
  void* context = nullptr;
};

// A frame's name (the coroutine's __name__). Most are literals -- "<lambda>", a generator's
// default, a CoroutineFunction's -- and stay the pointer they are; a name made at run time is
// copied and owned. Two words where a std::string took four, and no copy per coroutine.
class FrameName {
 public:
  // `text` must outlive the frame: a literal, or a CoroutineFunction's name.
  static FrameName literal(const char* text) noexcept {
    FrameName name;
    name.text_ = text;
    return name;
  }
  static FrameName copy(std::string text) {
    FrameName name;
    name.owned_ = std::make_unique<std::string>(std::move(text));
    name.text_ = name.owned_->c_str();  // in the owned string's buffer: it moves with it
    return name;
  }
  const char* c_str() const noexcept { return text_; }

 private:
  FrameName() = default;
  const char* text_ = "";
  std::unique_ptr<std::string> owned_;
};

// Frames come from the block pool: one is made for every coroutine and task.
class Frame : public PooledObject {
 public:
  Frame(FrameKind kind, FrameName name, SourceLocation created_at);
  Frame(const Frame&) = delete;
  Frame& operator=(const Frame&) = delete;

  // Closes the frame if it is suspended (unwinding its stack), reports a never-awaited coroutine,
  // then deletes it. The only way a frame is destroyed.
  void destroy() noexcept;
  // The frame was built inside another object's memory (a task's block, see task.hpp): destroy()
  // ends its life but leaves the memory to that object. Called once, right after construction.
  void mark_embedded() noexcept { embedded_ = true; }

  // ---- Driver side. Each returns true when the body suspended (yielded() is valid) and false
  // when it returned; an exception escaping the body propagates. CAS into RUNNING or throw.
  // A driver that may race with others takes the outcome through a Receiver (see FrameReceiver).
  using Receiver = FrameReceiver;
  bool send(void* value, const Receiver& receiver = {});
  bool throw_in(std::exception_ptr error, const Receiver& receiver = {});
  void close(const Receiver& receiver = {});

  void* yielded() const noexcept { return yielded_; }
  // See Fiber::prefetch_resume: for a waker that will make this frame's driver resume it soon.
  void prefetch_resume() const noexcept { fiber_.prefetch_resume(); }
  FrameState state() const noexcept;  // DELEGATED resolved to the host's state
  FrameState raw_state() const noexcept { return state_.load(std::memory_order_acquire); }
  FrameKind kind() const noexcept { return kind_; }
  const char* name() const noexcept { return name_.c_str(); }
  void set_name(std::string name) { name_ = FrameName::copy(std::move(name)); }
  const SourceLocation& created_at() const noexcept { return created_at_; }

  // ---- Inline await (Python's `await coro` on a fresh coroutine): runs the body on the
  // current fiber. Throws the asyncio errors when the frame is not fresh.
  void run_delegated();

  // ---- Body side.
  // The fiber-owning frame running on this thread, or nullptr. Re-reads the thread pointer on
  // every call (never inlined): a fiber may have moved to another thread since the last call.
  static Frame* running_host() noexcept;
  // The innermost frame executing on this thread (an inline-awaited one, or the host).
  static Frame* running_innermost() noexcept;
  // Suspends the running host frame, handing `yielded` to its driver; returns what the driver
  // sent (nullptr for None) or throws what it threw in.
  static void* suspend_running(void* yielded);
  // The same for a known frame (a generator's yield); throws if it is not the one running.
  void* suspend_from_body(void* yielded);

  LocalBinding*& locals() noexcept { return locals_; }

  // Where the body last waited (set by weft::await / weft::sleep), for Task::get_stack.
  static void record_await_site(const SourceLocation& site) noexcept;
  SourceLocation await_site() const noexcept;

  // ---- The await graph (call_graph.cpp). A host's chain of inline awaits, innermost first:
  // visit(context, frame, site) for the innermost frame at `top`, then for each frame that
  // awaits the previous one, at its await of it, out to this host. Only where the chain cannot
  // change: on the host's own fiber, or while the host is known to stay suspended.
  using AwaitVisit = void (*)(void* context, const Frame& frame, const SourceLocation& site);
  void walk_await_chain(const SourceLocation& top, AwaitVisit visit, void* context) const;
  // While this fiber's frame runs: the frame that resumed it (an async generator's driver), or
  // null (a worker). Read on the fiber itself.
  const Frame* driver() const noexcept { return host_; }

 protected:
  virtual ~Frame();
  virtual void run_body() = 0;  // invoke the callable and store its result

 private:
  enum class Mode { send, throw_in, close };
  bool step(Mode mode, void* value, std::exception_ptr error, const Receiver& receiver);
  bool resume_fiber(const Receiver& receiver);
  static void fiber_entry(void* self);
  [[noreturn]] void throw_reuse_error() const;
  const char* noun() const noexcept;

  std::atomic<FrameState> state_{FrameState::created};
  FrameKind kind_;
  bool embedded_ = false;  // see mark_embedded
  Fiber fiber_;
  void* sent_ = nullptr;        // driver -> body: the value sent in (nullptr = None)
  void* yielded_ = nullptr;     // body -> driver: the value suspended with
  std::exception_ptr thrown_;   // driver -> body: raise this at the suspension point
  std::exception_ptr failure_;  // body -> driver: the exception that ended the body
  // DELEGATED: the frame whose fiber runs this one; a fiber's own frame: the frame that last
  // resumed it (driver()).
  Frame* host_ = nullptr;
  // A host: the innermost frame it is running inline. DELEGATED: the frame that awaits it, and
  // the await_* fields below say where (the await graph's links; a delegated frame has no use
  // for either otherwise).
  Frame* active_ = this;
  LocalBinding* locals_ = nullptr;
  FrameName name_;
  SourceLocation created_at_;
  // Written by the body, read by get_stack() from any thread: word-sized atomics, so a read that
  // races with a running body may mix two sites but never reads torn words. Relaxed: diagnostic.
  std::atomic<const char*> await_file_{nullptr};
  std::atomic<const char*> await_function_{nullptr};
  std::atomic<unsigned> await_line_{0};
};

// Destroys frames through Frame::destroy (for unique_ptr).
struct FrameDeleter {
  void operator()(Frame* frame) const noexcept { frame->destroy(); }
};

}  // namespace weft::detail
