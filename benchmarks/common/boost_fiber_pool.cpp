#include "boost_fiber_pool.hpp"

#include <latch>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace cmp::fiber {

namespace {
void use_algorithm(unsigned threads, bool suspend) {
  if (threads == 1) {
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::round_robin>();
  } else {
    boost::fibers::use_scheduling_algorithm<boost::fibers::algo::work_stealing>(threads, suspend);
  }
}
}  // namespace

void start(unsigned threads, bool suspend, Caller caller, std::function<void()> on_helper) {
  static bool started = false;
  if (started) throw std::logic_error("boost.fiber: the pool can be set up once per process");
  started = true;
  const unsigned helpers = caller == Caller::joins ? threads - 1 : threads;
  // Leaked on purpose: the helper threads block on them until the process ends (_exit).
  auto* registered = new std::latch(helpers);
  auto* mutex = new std::mutex;
  auto* never = new boost::fibers::condition_variable_any;
  for (unsigned i = 0; i < helpers; ++i) {
    std::thread([=] {
      use_algorithm(threads, suspend);
      registered->count_down();
      if (on_helper) on_helper();
      std::unique_lock<std::mutex> lock(*mutex);
      never->wait(lock, [] { return false; });
    }).detach();
  }
  if (caller == Caller::joins) use_algorithm(threads, suspend);
  registered->wait();
}

}  // namespace cmp::fiber
