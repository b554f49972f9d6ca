// The explorer's scheduler: fibers, choice points, and the depth-first walk over schedules (see
// model.hpp for what is explored and under which memory model).
#include "model.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <limits>

#include "weft/detail/fiber.hpp"

namespace weft::model {
namespace detail {
namespace {

Execution* current_execution = nullptr;

}  // namespace

Execution* current() noexcept {
  return current_execution;
}

}  // namespace detail

namespace {

// Generous for the small bodies explored, and for the sanitizers' bigger frames.
constexpr std::size_t fiber_stack_size = 256 * 1024;

// The largest preemption bound a test may use: WEFT_MODEL_MAX_PREEMPTIONS if set, else 1 under
// ThreadSanitizer (its fiber bookkeeping makes every schedule some milliseconds: the full bounds
// took many minutes there, while release runs them in about two seconds), else no cap.
int preemption_cap() {
  if (const char* text = std::getenv("WEFT_MODEL_MAX_PREEMPTIONS")) return std::atoi(text);
#if defined(__SANITIZE_THREAD__)
  return 1;
#else
  return std::numeric_limits<int>::max();
#endif
}

}  // namespace

struct Execution::Thread {
  std::function<void()> body;
  weft::detail::Fiber fiber;
  Execution* execution = nullptr;
  int id = 0;
  bool finished = false;
  bool spinning = false;    // waits for another thread's write (spin())
  bool poked = false;       // another thread wrote since this one's last spin()
  bool read_stale = false;  // a load returned an old value since the last spin()
  int spins = 0;
};

Execution::Execution(const Options& options, std::vector<std::pair<int, int>>& trace)
    : options_(options),
      trace_(trace),
      preemptions_left_(options.preemptions),
      stale_left_(options.stale_reads) {}

Execution::~Execution() = default;

void Execution::thread(std::function<void()> body) {
  if (threads_.size() >= static_cast<std::size_t>(max_threads)) {
    check(false, "more threads than the explorer supports");
    return;
  }
  auto t = std::make_unique<Thread>();
  t->body = std::move(body);
  t->execution = this;
  t->id = static_cast<int>(threads_.size());
  threads_.push_back(std::move(t));
}

void Execution::check(bool condition, const char* what) {
  if (condition || failed_ || pruned_) return;  // a pruned schedule is not checked
  failed_ = true;
  failure_ = what;
}

int Execution::choose(int count) {
  if (count <= 1) return 0;
  if (position_ < trace_.size()) {
    auto [chosen, alternatives] = trace_[position_++];
    if (alternatives != count) {
      check(false, "the body is not deterministic: a replayed choice point changed");
      return 0;
    }
    return chosen;
  }
  trace_.emplace_back(0, count);
  ++position_;
  return 0;
}

int Execution::choose_load(int count) {
  if (stale_left_ == 0) return 0;
  int chosen = choose(count);
  if (chosen > 0) {
    --stale_left_;
    threads_[static_cast<std::size_t>(running_)]->read_stale = true;
  }
  return chosen;
}

void Execution::wrote() {
  for (auto& t : threads_) {
    if (t->id == running_) continue;
    t->spinning = false;
    t->poked = true;
  }
}

void Execution::spin() {
  if (!exploring()) return;
  Thread& self = *threads_[static_cast<std::size_t>(running_)];
  // The wait condition was read over several operations since the last spin(): if another
  // thread wrote meanwhile, or a load returned an old value (the newest is there for the next
  // look: the stale-read bound makes that happen), the thread may see progress at once, and
  // looks again (no switch: the other orders are reached by preempting it at its next
  // operation). Blocking it would be a lost wake-up of the explorer's own making.
  if (self.poked || self.read_stale) {
    self.poked = false;
    self.read_stale = false;
    return;
  }
  if (++self.spins > options_.max_spins) {
    // Threads that keep waking each other without progress (two consumers taking turns at a
    // try-lock while the producer waits, say) would make the schedule endless: prune it.
    pruned_ = true;
    abandoned_ = true;
    switch_point();
    return;
  }
  self.spinning = true;
  switch_point();
}

void Execution::switch_point() {
  if (++steps_ > options_.max_steps) {
    check(false, "a schedule did not end within max_steps operations");
    abandoned_ = true;
  }
  threads_[static_cast<std::size_t>(running_)]->fiber.suspend();
}

void Execution::entry(void* argument) {
  auto* self = static_cast<Thread*>(argument);
  try {
    self->body();
  } catch (...) {
    self->execution->check(false, "an explored thread threw");
  }
  self->finished = true;
  self->execution->wrote();  // a thread that ends is progress too: spinners look again
  self->fiber.finish();
}

void Execution::run() {
  // Starting a thread happens after everything the body did before (as std::thread's start).
  for (auto& t : threads_) clocks_[static_cast<std::size_t>(t->id)] = clocks_[main_id];
  // Each thread runs up to its first atomic operation: local work needs no schedule of its own.
  for (auto& t : threads_) {
    t->fiber.start(&Execution::entry, t.get(), fiber_stack_size);
    running_ = t->id;
    t->fiber.resume();
    running_ = main_id;
  }
  int last = -1;  // the thread that performed the latest operation
  std::vector<int> enabled;
  std::vector<int> options;
  while (!abandoned_) {
    enabled.clear();
    bool unfinished = false;
    for (auto& t : threads_) {
      if (t->finished) continue;
      unfinished = true;
      if (!t->spinning) enabled.push_back(t->id);
    }
    if (!unfinished) break;
    if (enabled.empty()) {
      check(false, "every unfinished thread spins: none can make progress (a lost wake-up)");
      abandoned_ = true;
      break;
    }
    bool last_enabled = false;
    for (int id : enabled) last_enabled |= id == last;
    options.clear();
    if (last_enabled) {
      // Continuing is alternative 0, so the first schedule explored is the one with no
      // preemption; switching away costs one.
      options.push_back(last);
      if (preemptions_left_ > 0) {
        for (int id : enabled) {
          if (id != last) options.push_back(id);
        }
      }
    } else {
      options = enabled;
    }
    int pick = options[static_cast<std::size_t>(choose(static_cast<int>(options.size())))];
    if (last_enabled && pick != last) --preemptions_left_;
    running_ = pick;
    path_ += static_cast<char>('0' + pick);
    threads_[static_cast<std::size_t>(pick)]->fiber.resume();
    running_ = main_id;
    last = pick;
  }
  // Abandoned fibers (a failed schedule) give their stacks back unwound: their frames hold no
  // resources in the tests written for this explorer.
  for (auto& t : threads_) {
    if (!t->finished) t->fiber.release();
  }
  // The body's final checks happen after every thread (as joining them).
  for (auto& t : threads_) join(clocks_[main_id], clocks_[static_cast<std::size_t>(t->id)]);
  ran_ = true;
}

Stats explore_impl(const char* name, const Options& requested,
                   const std::function<void(Execution&)>& body) {
  Options options = requested;
  options.preemptions = std::min(options.preemptions, preemption_cap());
#if defined(__SANITIZE_THREAD__)
  options.max_spins = std::min(options.max_spins, 2);  // as preemption_cap(): TSan's cost
#endif
  std::vector<std::pair<int, int>> trace;
  Stats stats;
  for (;;) {
    {
      Execution execution(options, trace);
      detail::current_execution = &execution;
      body(execution);
      detail::current_execution = nullptr;
      ++stats.schedules;
      if (execution.pruned_) ++stats.pruned;
      if (!execution.ran_) execution.check(false, "the body never called run()");
      if (execution.failed_) {
        stats.failed = true;
        stats.failure = execution.failure_ + " -- in schedule #" + std::to_string(stats.schedules) +
                        ", operations by thread: " + execution.path_;
        break;
      }
    }
    // The next schedule: the deepest choice point with an untried alternative takes it.
    while (!trace.empty() && trace.back().first + 1 >= trace.back().second) trace.pop_back();
    if (trace.empty()) break;
    ++trace.back().first;
    if (stats.schedules >= options.max_schedules) {
      stats.failed = true;
      stats.failure = "max_schedules reached before the exploration ended";
      break;
    }
  }
  std::printf(
      "[model] %s: %ld schedules explored, %ld pruned (preemption bound %d, stale-read bound "
      "%d)%s\n",
      name, stats.schedules, stats.pruned, options.preemptions, options.stale_reads,
      stats.failed ? ", violation found" : "");
  std::fflush(stdout);
  return stats;
}

}  // namespace weft::model
