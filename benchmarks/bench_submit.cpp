// Submission from a thread outside the runtime, side by side: weft, Boost.Fiber
// (work_stealing) and oneTBB.
//
//   foreign_submit  a thread that is not a worker submits 1M trivial tasks, then waits until all
//                   have run; every task must run exactly once. ns per task, submission to the
//                   last completion.
//
// Each runtime's own way in:
//   weft          run_coroutine_threadsafe (asyncio's), then result() on each returned future;
//   Boost.Fiber   it has no submission from outside: the thread pushes task numbers into a
//                 boost::fibers::buffered_channel that a dispatcher fiber on every worker pops,
//                 launching a fiber per task; a std::latch tells the thread when all are done;
//   oneTBB        task_arena::enqueue into an arena of N worker slots (none reserved for the
//                 submitting thread), a std::latch as above.
// Go has no threads outside its scheduler: no Go version.
#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <latch>

#include "common/workload.hpp"

namespace {

using cmp::Clock;
using cmp::failed;
using cmp::measured;
using cmp::Outcome;
using cmp::seconds_since;

constexpr std::int64_t kSubmit = 1'000'000;

Outcome submit_result(const std::vector<std::uint8_t>& ran, Clock::time_point start,
                      std::int64_t sum = cmp::triangle(kSubmit)) {
  const double ns = seconds_since(start) * 1e9 / kSubmit;
  if (auto error = cmp::check_ran_once(ran); !error.empty()) return failed(error);
  if (sum != cmp::triangle(kSubmit)) return failed("wrong sum " + std::to_string(sum));
  return measured(ns);
}

Outcome foreign_submit_weft(int threads) {
  weft::Runtime runtime({.workers = static_cast<unsigned>(threads)});
  std::vector<std::uint8_t> ran(kSubmit);
  std::vector<weft::ConcurrentFuture<std::int64_t>> futures;
  futures.reserve(kSubmit);
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < kSubmit; ++i) {
    futures.push_back(weft::run_coroutine_threadsafe(weft::coro([i, &ran] {
                                                       ++ran[i];
                                                       return i;
                                                     }),
                                                     runtime));
  }
  std::int64_t sum = 0;
  for (auto& f : futures) sum += f.result();
  return cmp::with_weft_profile(submit_result(ran, start, sum), runtime, kSubmit);
}

// What the workers may still touch while the submitting thread reads the result (a last
// count_down's wake-up, a dispatcher's pop): never freed -- the child process ends instead.
struct Shared {
  std::vector<std::uint8_t> ran = std::vector<std::uint8_t>(kSubmit);
  std::latch done{kSubmit};
  boost::fibers::buffered_channel<std::int64_t> submitted{1024};
};

Outcome foreign_submit_fiber(int threads, bool suspend) {
  auto* shared = new Shared;
  cmp::fiber::start(threads, suspend, cmp::fiber::Caller::stays_out, [shared] {
    std::int64_t i = 0;
    while (shared->submitted.pop(i) == boost::fibers::channel_op_status::success) {
      cmp::fiber::launch([i, shared] {
        ++shared->ran[i];
        shared->done.count_down();
      }).detach();
    }
  });
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < kSubmit; ++i) shared->submitted.push(i);
  shared->done.wait();
  return submit_result(shared->ran, start);
}

Outcome foreign_submit_tbb(int threads) {
  // N workers serve the arena; the default soft limit (cores - 1 workers) would allow fewer.
  tbb::global_control workers(tbb::global_control::max_allowed_parallelism, threads + 1);
  auto* arena = new tbb::task_arena(threads, 0);
  {
    auto* warm = new std::latch(64);
    for (int i = 0; i < 64; ++i) arena->enqueue([warm] { warm->count_down(); });
    warm->wait();
  }
  auto* shared = new Shared;
  const auto start = Clock::now();
  for (std::int64_t i = 0; i < kSubmit; ++i) {
    arena->enqueue([i, shared] {
      ++shared->ran[i];
      shared->done.count_down();
    });
  }
  shared->done.wait();
  return submit_result(shared->ran, start);
}

void register_all() {
  for (int threads : cmp::worker_counts()) {
    cmp::add("foreign_submit", "weft", threads, "ns/task",
             [threads] { return foreign_submit_weft(threads); });
    for (auto [name, suspend] : cmp::fiber_variants(threads)) {
      cmp::add("foreign_submit", name, threads, "ns/task",
               [threads, suspend = suspend] { return foreign_submit_fiber(threads, suspend); });
    }
    cmp::add("foreign_submit", "onetbb", threads, "ns/task",
             [threads] { return foreign_submit_tbb(threads); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  return cmp::run_main(argc, argv);
}
