// The coroutine state machine. The state word is the one place that decides who may run a
// frame: every entry into RUNNING is a compare-and-swap from CREATED or SUSPENDED, so two threads
// can never run the same body at once, and a loser gets Python's error instead of a second entry.
#include "weft/detail/frame.hpp"
#include "weft/detail/fiber_thread_local.hpp"

#include <utility>

#include "weft/detail/locals_registry.hpp"
#include "weft/detail/overflow_guard.hpp"
#include "weft/errors.hpp"
#include "weft/stack.hpp"
#include "weft/warnings.hpp"

namespace weft::detail {
namespace {

thread_local Frame* tls_running_host = nullptr;

// The running host frame: a fiber's thread-local (architecture.md §3).
WEFT_FIBER_SAFE_TLS_LOAD(load_running_host, Frame*, tls_running_host)
WEFT_FIBER_SAFE_TLS_STORE(store_running_host, Frame*, tls_running_host)

}  // namespace

const char* running_coroutine_name() noexcept {
  Frame* host = tls_running_host;
  return host ? Frame::running_innermost()->name() : nullptr;
}

Frame::Frame(FrameKind kind, FrameName name, SourceLocation created_at)
    : kind_(kind), name_(std::move(name)), created_at_(created_at) {}

Frame::~Frame() = default;

const char* Frame::noun() const noexcept {
  switch (kind_) {
    case FrameKind::coroutine:
      return "coroutine";
    case FrameKind::generator:
      return "generator";
    case FrameKind::async_generator:
      // CPython's word in these messages ("can't send non-None value to a just-started async
      // generator", "async generator already executing").
      return "async generator";
  }
  return "coroutine";
}

Frame* Frame::running_host() noexcept {
  return load_running_host();
}

void Frame::record_await_site(const SourceLocation& site) noexcept {
  Frame* host = load_running_host();
  if (!host) return;
  host->await_file_.store(site.file_name(), std::memory_order_relaxed);
  host->await_function_.store(site.function_name(), std::memory_order_relaxed);
  host->await_line_.store(site.line(), std::memory_order_relaxed);
}

SourceLocation Frame::await_site() const noexcept {
  const char* file = await_file_.load(std::memory_order_relaxed);
  if (!file) return SourceLocation();
  return SourceLocation(file, await_line_.load(std::memory_order_relaxed),
                        await_function_.load(std::memory_order_relaxed));
}

void Frame::walk_await_chain(const SourceLocation& top, AwaitVisit visit, void* context) const {
  const Frame* frame = active_;
  SourceLocation site = top;
  for (;;) {
    visit(context, *frame, site);
    if (frame == this) return;
    site = frame->await_site();  // where the next one out awaits it
    frame = frame->active_;
  }
}

Frame* Frame::running_innermost() noexcept {
  Frame* host = load_running_host();
  return host ? host->active_ : nullptr;
}

FrameState Frame::state() const noexcept {
  FrameState s = state_.load(std::memory_order_acquire);
  if (s == FrameState::delegated) {
    // The body runs on the host's fiber: it is running exactly when the host is.
    FrameState host_state = host_->state_.load(std::memory_order_acquire);
    return host_state == FrameState::running ? FrameState::running : FrameState::suspended;
  }
  return s;
}

void Frame::throw_reuse_error() const {
  if (kind_ == FrameKind::coroutine) throw RuntimeError("cannot reuse already awaited coroutine");
  throw RuntimeError(std::string("cannot resume a closed ") + noun());
}

bool Frame::send(void* value, const Receiver& receiver) {
  return step(Mode::send, value, nullptr, receiver);
}

bool Frame::throw_in(std::exception_ptr error, const Receiver& receiver) {
  if (!error) throw TypeError("throw() needs an exception to raise");
  return step(Mode::throw_in, nullptr, std::move(error), receiver);
}

void Frame::close(const Receiver& receiver) {
  step(Mode::close, nullptr, nullptr, receiver);
}

bool Frame::step(Mode mode, void* value, std::exception_ptr error, const Receiver& receiver) {
  // Acquire pairs with the release store that ended the previous step (on any thread): the
  // fiber's saved context and the transfer slots written there are visible here.
  FrameState seen = state_.load(std::memory_order_acquire);
  for (;;) {
    switch (seen) {
      case FrameState::running:
        throw ValueError(std::string(noun()) + " already executing");
      case FrameState::delegated:
        throw RuntimeError(std::string(noun()) + " is being awaited already");
      case FrameState::closed:
        if (mode == Mode::close) return false;  // closing a closed frame is silent
        if (mode == Mode::throw_in && kind_ != FrameKind::coroutine) std::rethrow_exception(error);
        if (kind_ == FrameKind::coroutine) throw_reuse_error();
        return false;  // an exhausted generator: StopIteration
      case FrameState::created:
        if (mode == Mode::send && value != nullptr) {
          throw TypeError(std::string("can't send non-None value to a just-started ") + noun());
        }
        if (mode != Mode::send) {
          // close() or throw() before the first send: the frame ends without running.
          if (!state_.compare_exchange_weak(seen, FrameState::closed, std::memory_order_acq_rel,
                                            std::memory_order_acquire)) {
            continue;
          }
          if (mode == Mode::throw_in) std::rethrow_exception(error);
          return false;
        }
        break;
      case FrameState::suspended:
        break;
    }
    // Acquire as above; the RUNNING we publish is only a claim, no data rides on it.
    if (state_.compare_exchange_weak(seen, FrameState::running, std::memory_order_acquire,
                                     std::memory_order_acquire)) {
      break;
    }
  }

  sent_ = value;
  thrown_ = mode == Mode::close ? std::make_exception_ptr(GeneratorExit{}) : std::move(error);
  bool suspended = resume_fiber(receiver);
  if (mode == Mode::close) {
    if (suspended) {
      // Python leaves it suspended; the caller (or destroy) decides what happens next.
      throw RuntimeError(std::string(noun()) + " ignored GeneratorExit");
    }
    if (failure_) {
      std::exception_ptr failure = std::exchange(failure_, nullptr);
      try {
        std::rethrow_exception(failure);
      } catch (const GeneratorExit&) {
        return false;  // the expected way to end
      }
    }
    return false;
  }
  if (!suspended && failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
  return suspended;
}

bool Frame::resume_fiber(const Receiver& receiver) {
  if (!fiber_.started()) {
    try {
      fiber_.start(&Frame::fiber_entry, this, default_stack_size());
    } catch (...) {
      // No stack (MemoryError): the body cannot run, so the frame ends as if its first line
      // had raised -- closed, the error going to whoever drives it (a Task fails with it).
      // Release: as any publication of CLOSED.
      state_.store(FrameState::closed, std::memory_order_release);
      throw;
    }
  }
  Frame* previous_host = load_running_host();
  host_ = previous_host;  // driver(): a fiber's frame is never DELEGATED, so the field is free
  store_running_host(this);
  fiber_.resume();
  store_running_host(previous_host);
  if (fiber_.finished()) {
    fiber_.release();
    locals_ = nullptr;
    // The receiver takes the result while the frame is still ours (RUNNING): after CLOSED is
    // published, another driver may look at the frame. Publish even if taking it throws.
    struct PublishClosed {
      std::atomic<FrameState>& state;
      // Release: a thread that sees CLOSED also sees the result or failure the body stored.
      ~PublishClosed() { state.store(FrameState::closed, std::memory_order_release); }
    } publish{state_};
    if (receiver.on_return) receiver.on_return(receiver.context);
    return false;
  }
  // The receiver moves the yielded value off the body's stack before SUSPENDED is published:
  // after that, another thread may resume the body, which overwrites or destroys the value.
  struct PublishSuspended {
    std::atomic<FrameState>& state;
    // Release: the next driver (maybe another thread) acquires the fiber's saved context with
    // its CAS. Stored only now that the fiber is off its stack (architecture.md §9).
    ~PublishSuspended() { state.store(FrameState::suspended, std::memory_order_release); }
  } publish{state_};
  if (receiver.on_yield) receiver.on_yield(receiver.context, yielded_);
  return true;
}

void Frame::fiber_entry(void* argument) {
  auto* self = static_cast<Frame*>(argument);
  try {
    self->run_body();
  } catch (...) {
    self->failure_ = std::current_exception();
  }
  self->fiber_.finish();
}

void* Frame::suspend_running(void* yielded) {
  Frame* host = load_running_host();
  if (!host) {
    throw RuntimeError(
        "weft: nothing to suspend: this code is not running inside a coroutine (drive it with "
        "send(), create_task() or weft::run())");
  }
  if (host->kind_ == FrameKind::generator) {
    // Its driver reads what it suspends with as the generator's Y: a raw suspend (an await)
    // would hand it a std::any instead. Python cannot await in a plain generator either.
    throw RuntimeError(std::string("weft: cannot suspend or await inside a generator '") +
                       host->name() +
                       "': a generator suspends only through its yield_ (await in a coroutine or "
                       "an async generator)");
  }
  return host->suspend_from_body(yielded);
}

void* Frame::suspend_from_body(void* yielded) {
  if (load_running_host() != this) {
    throw RuntimeError(std::string("weft: a ") + noun() +
                       " can only suspend itself, from its own body");
  }
  yielded_ = yielded;
  fiber_.suspend();
  // Resumed (perhaps on another thread); `this` is a register value saved by the switch, safe.
  yielded_ = nullptr;
  if (thrown_) std::rethrow_exception(std::exchange(thrown_, nullptr));
  return sent_;
}

void Frame::run_delegated() {
  Frame* host = load_running_host();
  if (!host) {
    throw RuntimeError("weft: await outside of a coroutine: only a running coroutine can await");
  }
  FrameState expected = FrameState::created;
  // The write of host_ must be visible to any thread that reads DELEGATED: release on success.
  host_ = host;
  if (!state_.compare_exchange_strong(expected, FrameState::delegated, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
    host_ = nullptr;
    if (expected == FrameState::closed) throw_reuse_error();
    throw RuntimeError(std::string(noun()) + " is being awaited already");
  }
  Frame* outer = host->active_;
  // The await graph's link out: who awaits us, and where (the site await() just recorded).
  active_ = outer;
  await_file_.store(host->await_file_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  await_function_.store(host->await_function_.load(std::memory_order_relaxed),
                        std::memory_order_relaxed);
  await_line_.store(host->await_line_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  host->active_ = this;
  struct Restore {
    Frame* self;
    Frame* host;
    Frame* outer;
    ~Restore() {
      host->active_ = outer;
      self->locals_ = nullptr;
      // Release: readers that see CLOSED see the stored result.
      self->state_.store(FrameState::closed, std::memory_order_release);
    }
  } restore{this, host, outer};
  run_body();
}

void Frame::destroy() noexcept {
  FrameState s = state_.load(std::memory_order_acquire);
  if (s == FrameState::created && kind_ == FrameKind::coroutine) {
    warn({"RuntimeWarning", std::string("coroutine '") + name() + "' was never awaited",
          created_at_.file_name(), created_at_.line()});
  } else if (s == FrameState::suspended) {
    try {
      close();
    } catch (...) {
      // Python reports an exception raised while finalizing and drops the frame anyway.
      warn({"RuntimeWarning",
            std::string("Exception ignored in: <") + noun() + " object '" + name() +
                "'>: " + describe_exception(std::current_exception()),
            created_at_.file_name(), created_at_.line()});
    }
    if (!fiber_.finished()) fiber_.release();  // it refused to end: abandon its stack
  }
  if (embedded_) {
    this->~Frame();  // virtual: the whole frame; its memory is its owner's to free
  } else {
    delete this;
  }
}

}  // namespace weft::detail
