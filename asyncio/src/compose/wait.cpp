// wait(): done callbacks on the children release the waiting task. They run on any worker, so
// the shared state is atomic or behind a mutex.
#include <atomic>

#include "weft/detail/time_ns.hpp"
#include "weft/wait.hpp"

namespace weft::detail {

void wait_until(const std::vector<Ref<FutureCore>>& futures, std::optional<double> timeout,
                ReturnWhen return_when) {
  Runtime& loop = get_running_loop();
  if (timeout) seconds_to_ns(*timeout, "wait()");  // NaN: ValueError before anything is set up
  Future<void> waiter;
  auto release = [waiter]() mutable {
    try {
      waiter.set_result();
    } catch (const InvalidStateError&) {
      // Released already (another child, the timer, or our own cancellation).
    }
  };
  TimerHandle timer;
  if (timeout) timer = loop.call_later(*timeout, release);
  // acq_rel: each callback sees the count left by the ones before it, on any worker.
  auto counter = std::make_shared<std::atomic<long>>(static_cast<long>(futures.size()));
  std::vector<std::uint64_t> ids;
  // The await graph (asyncio 3.14's _wait): the waiting task awaits each future until it ends
  // or the wait is over. Its own call, so it outlives the records: they go in cleanup below.
  TaskCore* task = current_task_core();
  for (auto& future : futures) {
    if (task && !future->done()) future->add_awaited_by(*task);
    ids.push_back(future->add_done_callback([=](FutureCore& done) mutable {
      if (task) done.discard_awaited_by(*task);
      long left = counter->fetch_sub(1, std::memory_order_acq_rel) - 1;
      if (left <= 0 || return_when == ReturnWhen::FIRST_COMPLETED ||
          (return_when == ReturnWhen::FIRST_EXCEPTION && !done.cancelled() && done.exception())) {
        timer.cancel();
        release();
      }
    }));
  }
  auto cleanup = [&] {
    timer.cancel();
    for (std::size_t i = 0; i < futures.size(); ++i) {
      futures[i]->remove_done_callback(ids[i]);
      if (task) futures[i]->discard_awaited_by(*task);
    }
  };
  try {
    waiter.await();
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

}  // namespace weft::detail
