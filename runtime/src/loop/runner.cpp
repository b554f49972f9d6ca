// weft::Runner (asyncio.Runner): the runtime made on first use, close(), and Ctrl-C turned into
// cancelling the main task.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "sched/futex.hpp"
#include "weft/errors.hpp"
#include "weft/run.hpp"

namespace weft {

namespace {

// What run() sleeps on: bit 0 says the awaited future is done; the bits above count SIGINTs.
// While run()'s SIGINT handler is installed, the word is this static one, which the handler can
// reach at any time on any thread (the kernel picks the thread); only the main thread installs
// it, one run() at a time.
std::atomic<std::uint32_t> sigint_word{0};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free,
              "the SIGINT handler may only touch lock-free atomics");
constexpr std::uint32_t kDone = 1;
constexpr std::uint32_t kOneInterrupt = 2;

extern "C" void on_sigint(int) {
  // Async-signal-safe work only: a lock-free atomic and a futex wake (a bare system call). The
  // decision (cancel main, or KeyboardInterrupt) is run()'s, on its own thread.
  int saved_errno = errno;
  // Release: pairs with run()'s acquire load (nothing else is published; kept for symmetry).
  sigint_word.fetch_add(kOneInterrupt, std::memory_order_release);
  detail::futex_wake_all(sigint_word);
  errno = saved_errno;
}

bool on_main_thread() {
  return static_cast<long>(getpid()) == syscall(SYS_gettid);
}

// The disposition SigintScope replaced (only the main thread installs, one run() at a time).
struct sigaction previous_sigint {};

// Sets bit 0 of the word run() sleeps on when the future is done.
struct DoneWaiter final : detail::Waiter {
  explicit DoneWaiter(std::atomic<std::uint32_t>& w) : word(w) {}
  std::atomic<std::uint32_t>& word;
  void on_future_done(detail::FutureCore&) noexcept override {
    // Read before the store: once run() sees the bit, this waiter may be gone (the wake-up
    // only hands the kernel an address).
    std::atomic<std::uint32_t>* target = &word;
    // Release: run(), acquiring the bit, sees the completed future.
    target->fetch_or(kDone, std::memory_order_release);
    detail::futex_wake_all(*target);
  }
};

}  // namespace

namespace detail {

// asyncio installs its handler only on the main thread, and only over Python's default one (the
// C analogue: SIG_DFL); a program's own handler, or SIG_IGN, is left alone.
SigintScope::SigintScope() {
  if (!on_main_thread()) return;
  struct sigaction current {};
  if (sigaction(SIGINT, nullptr, &current) != 0) return;
  if ((current.sa_flags & SA_SIGINFO) || current.sa_handler != SIG_DFL) return;
  // Relaxed: no handler of ours is installed yet; sigaction() below orders it before any.
  sigint_word.store(0, std::memory_order_relaxed);
  struct sigaction ours {};
  ours.sa_handler = on_sigint;
  sigemptyset(&ours.sa_mask);
  ours.sa_flags = SA_RESTART;
  // A failure (not expected for SIGINT) leaves Ctrl-C as it was: asyncio's "signal only works in
  // main thread" case, where run() goes on without the handler.
  installed_ = sigaction(SIGINT, &ours, &previous_sigint) == 0;
}

SigintScope::~SigintScope() {
  if (!installed_) return;
  // Put the previous disposition back only if ours is still there (main may have set its own).
  struct sigaction current {};
  if (sigaction(SIGINT, nullptr, &current) == 0 && !(current.sa_flags & SA_SIGINFO) &&
      current.sa_handler == on_sigint) {
    sigaction(SIGINT, &previous_sigint, nullptr);
  }
}

}  // namespace detail

Runner::~Runner() {
  if (state_ != State::initialized) return;
  try {
    close();
  } catch (const RuntimeError&) {
    // Destroyed from inside its own runtime: close() cannot wait for itself there; the
    // Runtime's destructor below shuts it down from a thread of its own instead.
  }
}

void Runner::lazy_init() {
  if (state_ == State::closed) {
    throw RuntimeError("Runner is closed: make a new Runner to run more after close()");
  }
  if (state_ == State::initialized) return;
  runtime_ = std::make_unique<Runtime>(options_);
  context_ = detail::copy_current_context();
  state_ = State::initialized;
}

Runtime& Runner::get_loop() {
  lazy_init();
  return *runtime_;
}

void Runner::close() {
  if (state_ != State::initialized) return;
  runtime_->shutdown();  // throws from inside the runtime: the Runner stays usable then
  state_ = State::closed;
}

void Runner::wait_for_main(detail::FutureCore& until, detail::TaskCore& main,
                           const detail::SigintScope& sigint) {
  std::atomic<std::uint32_t> own_word{0};
  std::atomic<std::uint32_t>& word = sigint.installed() ? sigint_word : own_word;
  DoneWaiter waiter(word);
  interrupt_count_ = 0;
  if (until.add_waiter(waiter)) {
    std::uint32_t seen = 0;  // SIGINTs handled, in kOneInterrupt units
    for (;;) {
      std::uint32_t value = word.load(std::memory_order_acquire);
      if (value & kDone) break;
      if ((value & ~kDone) != seen) {
        seen += kOneInterrupt;
        ++interrupt_count_;
        if (interrupt_count_ == 1 && !main.done()) {
          main.cancel("");  // asyncio's Runner._on_sigint: the first Ctrl-C cancels main
          continue;
        }
        // A second Ctrl-C (or one after main ended): KeyboardInterrupt now; main, if still
        // running, is left to close(). If the future is completing, wait for its call to our
        // waiter to end before the waiter dies.
        if (!until.remove_waiter(waiter)) {
          for (;;) {
            std::uint32_t now = word.load(std::memory_order_acquire);
            if (now & kDone) break;
            detail::futex_wait(word, now, -1);
          }
        }
        throw KeyboardInterrupt();
      }
      detail::futex_wait(word, value, -1);
    }
  }
  // Main ended cancelled after a Ctrl-C: KeyboardInterrupt, unless the cancellation was not
  // only ours (someone else cancelled main too: its own CancelledError then).
  if (interrupt_count_ > 0 && main.cancelled() && main.uncancel() == 0) throw KeyboardInterrupt();
}

}  // namespace weft
