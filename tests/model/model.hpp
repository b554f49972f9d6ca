// A small exhaustive interleaving explorer for the runtime's lock-free transition functions (the
// task state word in task_state.hpp, the run queues), in the spirit of CHESS and Tokio's loom.
//
// How it works. A test body sets up shared state made of model::Atomic<T>, starts 2-3 threads
// with Execution::thread(), and calls Execution::run(). The threads are fibers on the calling
// thread; each one hands control back to the explorer before every atomic operation, and the
// explorer decides which thread performs the next one. The body is re-executed from scratch
// once per schedule: every decision the explorer makes (which thread runs next, which value a
// load returns) is a choice point, and the explorer enumerates the tree of choices depth first,
// replaying the prefix of the previous schedule and moving to the next untried alternative at
// the deepest point. Exploration is exhaustive within two bounds:
//   - preemptions: switching away from a thread that could continue costs one; switching when
//     the running thread finished or spins is free (as CHESS's preemption bounding);
//   - stale reads: how many loads per schedule may return an older value than the newest.
//
// The memory model. Every atomic keeps its modification order (all stores, with the vector
// clock of the storing thread, and for release stores and the read-modify-writes that continue
// their release sequence, the clock to hand over). Happens-before is tracked with vector clocks:
// an acquire load (or RMW) that reads a release store joins its clock. A relaxed or acquire
// load may return any store from the newest one it is obliged to see (the newest store that
// happens before it, or that this thread already read or wrote: coherence) up to the newest of
// all, within the stale-read bound and at most `stale_depth` stores back. So a publication that
// lacks its release/acquire pair shows up as a load that returns an old slot value. What is
// modeled stronger than C++ (so some real bugs go unseen): seq_cst loads read the newest value
// (seq_cst stores are release stores, so the store-load pair of a Dekker handshake holds exactly
// when both sides are seq_cst); a failed CAS reads the newest value; compare_exchange_weak never
// fails spuriously; consume is acquire; there are no fences (the functions explored use none);
// plain (non-atomic) memory is sequentially consistent and not checked for data races (the
// sanitizer builds do that, on the real runtime). Every read-modify-write reads the newest value,
// as C++ requires. The bounds make exploration exhaustive only for bugs that need few
// preemptions and stale reads, which most do (the CHESS observation). The preemption and
// stale-read bounds are per test (see each test's report line).
//
// Spinning. A thread that waits for another calls spin(): it is then not scheduled until some
// other thread writes an atomic or finishes, and the switch away costs no preemption (if another
// thread wrote since its last spin(), or it read an old value, it looks again at once). If every
// unfinished thread spins, nobody can make progress: that is reported as a failure (a lost
// wake-up, in a test whose threads wait for one). A thread that blocks in spin() more than
// max_spins times in one schedule ends the schedule unchecked ("pruned", counted in the report):
// spinners that keep waking each other would otherwise make it endless. Pruned schedules are not
// checked, which is a hole in the exploration; the report counts them so it stays visible.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

namespace weft::model {

constexpr int max_threads = 3;        // explored threads
constexpr int main_id = max_threads;  // the body's own context: set-up and final checks
using Clock = std::array<std::uint32_t, max_threads + 1>;

struct Options {
  int preemptions = 2;    // context switches away from a thread that could have continued
  int stale_reads = 1;    // loads per schedule that return an older value than the newest
  int stale_depth = 2;    // how far back in modification order such a load may go
  int max_steps = 20000;  // atomic operations per schedule before it counts as not terminating
  int max_spins = 8;      // spin() calls per thread per schedule; beyond, the schedule is pruned
  long max_schedules = 5'000'000;  // a safety net; reaching it is reported as a failure
};

struct Stats {
  long schedules = 0;
  long pruned = 0;  // schedules cut at max_spins (unchecked)
  bool failed = false;
  std::string failure;  // the first violation, with the schedule that produced it
};

class Execution;

namespace detail {

// The execution being explored on this thread, or null (then Atomic behaves as a plain,
// sequentially consistent variable, without choice points).
Execution* current() noexcept;

}  // namespace detail

class Execution {
 public:
  // Starts an explored thread (at most max_threads per schedule); it runs inside run().
  void thread(std::function<void()> body);
  // Runs the threads to their end under this schedule's choices. Once per body.
  void run();
  // Records a violation (the first one is reported; the schedule still runs to its end).
  void check(bool condition, const char* what);
  // Waits for another thread's progress (see the header comment).
  void spin();

  // ---- for Atomic
  int thread_id() const noexcept { return running_; }
  bool exploring() const noexcept { return running_ != main_id; }
  void switch_point();  // before an atomic operation of an explored thread
  Clock& clock() noexcept { return clocks_[running_]; }
  int options_stale_depth() const noexcept { return options_.stale_depth; }
  // Which of `count` candidate values a load returns (0 = the newest); consumes the stale bound.
  int choose_load(int count);
  void wrote();  // an atomic write: spinning threads may proceed

 private:
  friend Stats explore_impl(const char*, const Options&, const std::function<void(Execution&)>&);
  struct Thread;
  Execution(const Options& options, std::vector<std::pair<int, int>>& trace);
  ~Execution();
  int choose(int count);
  static void entry(void* argument);

  const Options& options_;
  std::vector<std::pair<int, int>>& trace_;  // (chosen, alternatives) per choice point
  std::size_t position_ = 0;
  std::vector<std::unique_ptr<Thread>> threads_;
  std::array<Clock, max_threads + 1> clocks_{};
  int running_ = main_id;
  int preemptions_left_;
  int stale_left_;
  int steps_ = 0;
  std::string path_;        // which thread performed each operation, for the failure report
  bool abandoned_ = false;  // a failed (or pruned) schedule stopped early
  bool pruned_ = false;     // stopped after too many fruitless spins: not checked
  bool ran_ = false;
  bool failed_ = false;
  std::string failure_;
};

Stats explore_impl(const char* name, const Options& options,
                   const std::function<void(Execution&)>& body);

// Runs `body` once per schedule; prints (and returns) how many schedules it explored.
template <class Body>
Stats explore(const char* name, const Options& options, Body body) {
  return explore_impl(name, options, std::function<void(Execution&)>(std::move(body)));
}

inline bool acquires(std::memory_order order) noexcept {
  return order == std::memory_order_acquire || order == std::memory_order_acq_rel ||
         order == std::memory_order_seq_cst || order == std::memory_order_consume;
}
inline bool releases(std::memory_order order) noexcept {
  return order == std::memory_order_release || order == std::memory_order_acq_rel ||
         order == std::memory_order_seq_cst;
}

inline void join(Clock& into, const Clock& from) noexcept {
  for (std::size_t i = 0; i < into.size(); ++i) into[i] = into[i] > from[i] ? into[i] : from[i];
}

// The instrumented atomic: the subset of std::atomic's interface the runtime's lock-free code
// uses, with the same signatures, so the same templates compile against either.
template <class T>
class Atomic {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  Atomic() noexcept : Atomic(T{}) {}
  Atomic(T value) noexcept {  // NOLINT: as std::atomic's converting constructor
    Execution* ex = detail::current();
    int id = ex ? ex->thread_id() : main_id;
    Clock empty{};
    history_.push_back({value, id, ex ? ex->clock()[id] : 0, empty});
    seen_.fill(0);
  }
  Atomic(const Atomic&) = delete;
  Atomic& operator=(const Atomic&) = delete;

  T load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
    Execution* ex = begin();
    if (!ex) return history_.back().value;
    int id = ex->thread_id();
    Clock& clock = ex->clock();
    // The oldest store this load may return: the newest one that happens before it, or that
    // this thread has read or written already (coherence).
    std::size_t oldest = seen_[id];
    for (std::size_t i = history_.size(); i-- > oldest;) {
      const Store& s = history_[i];
      if (clock[s.thread] >= s.epoch) {
        oldest = i;
        break;
      }
    }
    std::size_t newest = history_.size() - 1;
    std::size_t index = newest;
    if (order != std::memory_order_seq_cst && newest > oldest) {
      std::size_t depth = newest - oldest;
      if (depth > static_cast<std::size_t>(ex->options_stale_depth())) {
        depth = static_cast<std::size_t>(ex->options_stale_depth());
      }
      index = newest - static_cast<std::size_t>(ex->choose_load(static_cast<int>(depth) + 1));
    }
    seen_[id] = index;
    if (acquires(order)) join(clock, history_[index].release);
    return history_[index].value;
  }

  void store(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
    Execution* ex = begin();
    if (!ex) {
      plain_write(value);
      return;
    }
    Clock release{};
    if (releases(order)) release = ex->clock();
    append(ex, value, release);
  }

  T exchange(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
    return rmw(order, [&](T) { return value; });
  }
  T fetch_add(T delta, std::memory_order order = std::memory_order_seq_cst) noexcept {
    return rmw(order, [&](T old) { return static_cast<T>(old + delta); });
  }
  T fetch_sub(T delta, std::memory_order order = std::memory_order_seq_cst) noexcept {
    return rmw(order, [&](T old) { return static_cast<T>(old - delta); });
  }

  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
    Execution* ex = begin();
    if (!ex) {
      if (!same(history_.back().value, expected)) {
        expected = history_.back().value;
        return false;
      }
      plain_write(desired);
      return true;
    }
    const Store& last = history_.back();
    if (!same(last.value, expected)) {
      // A failed CAS is a load of the newest value (stronger than C++ requires).
      seen_[ex->thread_id()] = history_.size() - 1;
      if (acquires(failure)) join(ex->clock(), last.release);
      expected = last.value;
      return false;
    }
    rmw_write(ex, success, desired);
    return true;
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(expected, desired, order, failure_order(order));
  }
  // No spurious failures (see the header comment).
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure) noexcept {
    return compare_exchange_strong(expected, desired, success, failure);
  }
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order order = std::memory_order_seq_cst) noexcept {
    return compare_exchange_strong(expected, desired, order, failure_order(order));
  }

 private:
  struct Store {
    T value;
    int thread;
    std::uint32_t epoch;  // the storing thread's clock entry at the store
    Clock release;        // what an acquire load of this store learns (empty if relaxed)
  };

  static bool same(const T& a, const T& b) noexcept { return a == b; }
  static std::memory_order failure_order(std::memory_order order) noexcept {
    if (order == std::memory_order_acq_rel) return std::memory_order_acquire;
    if (order == std::memory_order_release) return std::memory_order_relaxed;
    return order;
  }

  // The switch point, and this operation's event on the thread's clock.
  Execution* begin() const noexcept {
    Execution* ex = detail::current();
    if (!ex || !ex->exploring()) return nullptr;
    ex->switch_point();
    ++ex->clock()[ex->thread_id()];
    return ex;
  }
  void plain_write(T value) noexcept {
    // Outside exploration (set-up, final checks): visible to everything that follows.
    Execution* ex = detail::current();
    Clock everything{};
    int id = main_id;
    std::uint32_t epoch = 0;
    if (ex) {
      id = ex->thread_id();
      everything = ex->clock();
      epoch = everything[id];
    }
    history_.push_back({value, id, epoch, everything});
    seen_.fill(history_.size() - 1);
  }
  void append(Execution* ex, T value, const Clock& release) noexcept {
    int id = ex->thread_id();
    history_.push_back({value, id, ex->clock()[id], release});
    seen_[id] = history_.size() - 1;
    ex->wrote();
  }
  template <class F>
  T rmw(std::memory_order order, F next) noexcept {
    Execution* ex = begin();
    T old = history_.back().value;
    if (!ex) {
      plain_write(next(old));
      return old;
    }
    rmw_write(ex, order, next(old));
    return old;
  }
  void rmw_write(Execution* ex, std::memory_order order, T value) noexcept {
    // An RMW reads the newest store and continues its release sequence.
    const Store& last = history_.back();
    if (acquires(order)) join(ex->clock(), last.release);
    Clock release = last.release;
    if (releases(order)) join(release, ex->clock());
    append(ex, value, release);
  }

  mutable std::vector<Store> history_;                     // the modification order, oldest first
  mutable std::array<std::size_t, max_threads + 1> seen_;  // per thread: coherence floor
};

}  // namespace weft::model
