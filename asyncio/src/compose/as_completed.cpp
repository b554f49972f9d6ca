// as_completed(): done callbacks on the children push their index into a queue that the
// iterating tasks pop. They run on any worker, so the queue is behind a mutex; so is the count
// of what is still to be handed out, which any task may take from.
#include <atomic>

#include "weft/as_completed.hpp"
#include "weft/detail/time_ns.hpp"

namespace weft::detail {

void CompletionQueue::push(long index) {
  // Called with the mutex held. Hand it to the oldest waiting getter that can still take it.
  while (!getters.empty()) {
    Future<long> getter = getters.front();
    getters.pop_front();
    try {
      getter.set_result(index);
      return;
    } catch (const InvalidStateError&) {
      // That getter was cancelled; try the next.
    }
  }
  finished.push_back(index);
}

bool CompletionQueue::take() {
  std::lock_guard lock(mutex);
  if (todo_left == 0) return false;
  --todo_left;
  return true;
}

long CompletionQueue::pop() {
  Future<long> getter;
  {
    std::lock_guard lock(mutex);
    if (!finished.empty()) {
      long index = finished.front();
      finished.pop_front();
      return index;
    }
    getters.push_back(getter);
  }
  try {
    return getter.await();
  } catch (const CancelledError&) {
    std::lock_guard lock(mutex);
    if (getter.done() && !getter.cancelled()) {
      // Woken, then cancelled before it ran: give the result to the next one in line.
      long index = getter.result();
      finished.push_front(index);
      if (!getters.empty()) {
        finished.pop_front();
        push(index);
      }
    } else {
      std::erase(getters, getter);
    }
    throw;
  }
}

void start_completion_queue(const std::shared_ptr<CompletionQueue>& queue,
                            const std::vector<Ref<FutureCore>>& futures,
                            std::optional<double> timeout) {
  if (timeout) seconds_to_ns(*timeout, "as_completed()");  // NaN: ValueError, nothing set up
  {
    std::lock_guard lock(queue->mutex);
    queue->outstanding.assign(futures.size(), true);
    queue->remaining = futures.size();
    queue->todo_left = futures.size();
  }
  if (timeout && !futures.empty()) {
    std::weak_ptr<CompletionQueue> weak = queue;
    TimerHandle timer = get_running_loop().call_later(*timeout, [weak] {
      auto q = weak.lock();
      if (!q) return;
      std::lock_guard lock(q->mutex);
      // Every result still to come becomes a TimeoutError.
      for (std::size_t i = 0; i < q->outstanding.size(); ++i) {
        if (q->outstanding[i]) {
          q->outstanding[i] = false;
          q->push(-1);
        }
      }
      q->remaining = 0;
    });
    std::lock_guard lock(queue->mutex);
    queue->timer = timer;
  }
  for (std::size_t i = 0; i < futures.size(); ++i) {
    futures[i]->add_done_callback([queue, i](FutureCore&) {
      std::lock_guard lock(queue->mutex);
      if (!queue->outstanding[i]) return;
      queue->outstanding[i] = false;
      if (--queue->remaining == 0) queue->timer.cancel();
      queue->push(static_cast<long>(i));
    });
  }
}

}  // namespace weft::detail
