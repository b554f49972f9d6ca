// Barrier, after asyncio's: a Condition and a small state machine. FILLING counts arrivals; the
// last one switches to DRAINING and notifies all; the others leave one by one, and the last to
// leave switches back to FILLING. Newcomers wait (blocked in block()) while it drains or resets.
#include "weft/barrier.hpp"

#include <exception>

#include "sync_format.hpp"
#include "weft/lock.hpp"

namespace weft {

namespace {
// Relaxed: each field is written with the condition's lock held (see barrier.hpp).
constexpr auto relaxed = std::memory_order_relaxed;
}  // namespace

Barrier::Barrier(std::ptrdiff_t parties) : parties_(parties) {
  if (parties < 1) throw ValueError("parties must be > 0");
}

std::ptrdiff_t Barrier::wait() {
  LockGuard guard(cond_);
  block();
  std::ptrdiff_t index = count_.load(relaxed);
  count_.store(index + 1, relaxed);
  try {
    if (index + 1 == parties_) {
      release();
    } else {
      wait_released();
    }
  } catch (...) {
    count_.store(count_.load(relaxed) - 1, relaxed);
    exit();
    throw;
  }
  count_.store(count_.load(relaxed) - 1, relaxed);
  exit();
  return index;
}

void Barrier::block() {
  // Wait while the barrier drains or resets (the previous round is still leaving).
  cond_.wait_for([this] {
    State s = state_.load(relaxed);
    return s != State::draining && s != State::resetting;
  });
  if (state_.load(relaxed) == State::broken) throw BrokenBarrierError("Barrier aborted");
}

void Barrier::release() {
  state_.store(State::draining, relaxed);
  cond_.notify_all();
}

void Barrier::wait_released() {
  cond_.wait_for([this] { return state_.load(relaxed) != State::filling; });
  State s = state_.load(relaxed);
  if (s == State::broken || s == State::resetting) {
    throw BrokenBarrierError("Abort or reset of barrier");
  }
}

void Barrier::exit() {
  // The last task out lets the next round in.
  if (count_.load(relaxed) == 0) {
    State s = state_.load(relaxed);
    if (s == State::resetting || s == State::draining) state_.store(State::filling, relaxed);
    cond_.notify_all();
  }
}

void Barrier::reset() {
  LockGuard guard(cond_);
  if (count_.load(relaxed) > 0) {
    state_.store(State::resetting, relaxed);
  } else {
    state_.store(State::filling, relaxed);
  }
  cond_.notify_all();
}

void Barrier::abort() {
  LockGuard guard(cond_);
  state_.store(State::broken, relaxed);
  cond_.notify_all();
}

std::ptrdiff_t Barrier::n_waiting() const noexcept {
  return state_.load(relaxed) == State::filling ? count_.load(relaxed) : 0;
}

bool Barrier::broken() const noexcept {
  return state_.load(relaxed) == State::broken;
}

std::string Barrier::repr() const {
  static constexpr const char* names[] = {"filling", "draining", "resetting", "broken"};
  std::string extra = names[static_cast<int>(state_.load(relaxed))];
  if (!broken()) {
    extra += ", waiters:" + std::to_string(n_waiting()) + "/" + std::to_string(parties_);
  }
  return detail::format_repr("Barrier", this, std::move(extra), 0);
}

}  // namespace weft
