// Boost.Fiber as the comparison runs it: boost::fibers::algo::work_stealing on N threads, set
// up as the Boost.Fiber documentation and its own skynet benchmarks do -- every thread registers
// the algorithm (whose constructor waits for all N), the helper threads then block their main
// fiber on a fiber condition variable and so run and steal fibers until the end.
//
// Fibers are launched with launch::dispatch (the child runs at once, the parent is queued and
// can be stolen) on fixedsize_stack stacks of 16 KiB: a stack per fiber from malloc, no guard
// page, so a million of them fit in memory and under vm.max_map_count. (Boost.Fiber's own skynet
// benchmarks use two pages, but in 1.81 work_stealing's steal path first builds a
// std::random_device -- about 5 KB -- on the stack of the fiber that suspends: 8 KiB overflows.)
//
// On one worker Boost.Fiber runs round_robin, its default scheduler: work_stealing(1) never
// returns from its steal loop once its queue is empty (1.81 draws a random victim other than
// itself among 1), so an idle single worker spins forever.
//
// work_stealing keeps its barrier and scheduler table in statics: it can be set up once per
// process. The harness runs every measurement in a child process of its own (cmp::add).
#pragma once

#include <boost/fiber/all.hpp>
#include <functional>

namespace cmp::fiber {

using Stack = boost::fibers::fixedsize_stack;

// The stack allocator of every fiber launched here.
inline Stack stack() {
  return Stack(16 * 1024);
}

enum class Caller {
  joins,     // the calling thread is worker 0 (its main fiber runs the workload)
  stays_out  // N helper threads are the workers; the calling thread stays outside (foreign)
};

// Starts work_stealing on `threads` threads; `suspend` is work_stealing's second argument (an
// idle worker sleeps on a condition variable instead of spinning). One thread: round_robin,
// which always sleeps when idle; `suspend` is ignored. Once per process. Each helper
// thread runs `on_helper` in its main fiber first, if given, then idles (runs and steals fibers).
void start(unsigned threads, bool suspend, Caller caller,
           std::function<void()> on_helper = nullptr);

// Launches fn in a fiber with launch::dispatch and the stack above.
template <class F>
boost::fibers::fiber launch(F&& fn) {
  return boost::fibers::fiber(boost::fibers::launch::dispatch, std::allocator_arg, stack(),
                              std::forward<F>(fn));
}

}  // namespace cmp::fiber
