// as_completed(aws, timeout): the awaitables in the order they finish (asyncio.as_completed).
// The object is one iterator, as asyncio's (3.13): a second loop over it goes on where the first
// stopped, and both ways of iterating draw from the same "how many are left".
//
// Plain iteration (`for f in as_completed(aws): await f`): each element is an awaitable giving
// the next earliest result, whichever element is awaited first.
//
//   for (auto next : weft::as_completed(tasks)) {
//     int earliest = weft::await(next);
//   }
//
// Async iteration (3.13, `async for t in as_completed(aws)`): the tasks/futures themselves as
// they finish -- one of the inputs, or for a coroutine the task made for it.
//
//   for (weft::Task<int> t : weft::as_completed(tasks).aiter()) {
//     if (t == ipv6) ...;
//     int v = t.result();  // done
//   }
//   std::optional<weft::Task<int>> t = completions.anext();  // `await anext(it)`; nullopt: none
//
// Once the timeout passes, every result still to come is a TimeoutError: raised by the awaitable
// in plain iteration, by anext() (and so by the loop) in async iteration. Nothing is cancelled.
// The awaitables and anext() may be used from several tasks, on any workers.
#pragma once

#include <atomic>
#include <deque>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "weft/detail/awaitables.hpp"
#include "weft/runtime.hpp"

namespace weft {

namespace detail {
// Shared by the iteration and the callbacks: the finished futures, in order.
struct CompletionQueue {
  std::mutex mutex;
  std::deque<long> finished;         // guarded; -1 = timed out
  std::deque<Future<long>> getters;  // guarded; tasks waiting for the next one
  std::vector<bool> outstanding;     // guarded
  std::size_t remaining = 0;         // guarded; not finished yet (nor timed out)
  std::size_t todo_left = 0;         // guarded; asyncio's _todo_left: still to hand out
  TimerHandle timer;                 // guarded
  void push(long index);
  long pop();  // suspends until one is available
  // One more handed out (asyncio's __next__/__anext__); false when all have been.
  bool take();
};
void start_completion_queue(const std::shared_ptr<CompletionQueue>& queue,
                            const std::vector<Ref<FutureCore>>& futures,
                            std::optional<double> timeout);
}  // namespace detail

template <class F>
class AsCompleted {
  struct State {
    std::vector<F> futures;  // set before the state is shared, never changed: read from any task
    std::shared_ptr<detail::CompletionQueue> queue;
  };

 public:
  using R = typename detail::result_of<F>::type;

  // One "next result" awaitable: a coroutine in asyncio, so it can be awaited once.
  class Next {
   public:
    Value<R> await() const {
      // Relaxed: only claims the await; the results travel through the queue's mutex.
      if (awaited_->exchange(true, std::memory_order_relaxed)) {
        throw RuntimeError("cannot reuse already awaited coroutine");
      }
      long index = state_->queue->pop();
      if (index < 0) throw TimeoutError();
      return detail::take_awaited(state_->futures[static_cast<std::size_t>(index)]);
    }
    friend bool operator==(const Next& a, const Next& b) noexcept {
      return a.awaited_ == b.awaited_;
    }

   private:
    friend class AsCompleted;
    explicit Next(std::shared_ptr<State> state)
        : state_(std::move(state)), awaited_(std::make_shared<std::atomic<bool>>(false)) {}
    std::shared_ptr<State> state_;
    std::shared_ptr<std::atomic<bool>> awaited_;  // shared by the copies of one awaitable
  };

  // Plain iteration. Each step hands one out (begin() the first, ++ the next), so a loop left
  // with break has taken exactly the elements it saw.
  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Next;
    using reference = Next;
    using pointer = void;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Next operator*() const { return *current_; }
    iterator& operator++() {
      current_ = take_next(state_);
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const iterator& other) const { return current_ == other.current_; }

   private:
    friend class AsCompleted;
    explicit iterator(std::shared_ptr<State> state)
        : state_(std::move(state)), current_(take_next(state_)) {}
    std::shared_ptr<State> state_;
    std::optional<Next> current_;  // nullopt: the end
  };

  // Async iteration: begin() and ++ wait for the next task/future to finish (anext()).
  class async_iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = F;
    using reference = const F&;
    using pointer = const F*;
    using difference_type = std::ptrdiff_t;
    async_iterator() = default;
    const F& operator*() const { return *current_; }
    async_iterator& operator++() {
      current_ = next_done(*state_);
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(const async_iterator& other) const {
      return current_.has_value() == other.current_.has_value() &&
             (!current_ || &current_->core() == &other.current_->core());
    }

   private:
    friend class AsCompleted;
    explicit async_iterator(std::shared_ptr<State> state)
        : state_(std::move(state)), current_(next_done(*state_)) {}
    std::shared_ptr<State> state_;
    std::optional<F> current_;  // nullopt: the end
  };

  class AsyncRange {
   public:
    async_iterator begin() const { return async_iterator(state_); }
    async_iterator end() const { return async_iterator(); }

   private:
    friend class AsCompleted;
    explicit AsyncRange(std::shared_ptr<State> state) : state_(std::move(state)) {}
    std::shared_ptr<State> state_;
  };

  AsCompleted(std::vector<F> futures, std::optional<double> timeout)
      : state_(std::make_shared<State>(
            State{std::move(futures), std::make_shared<detail::CompletionQueue>()})) {
    std::vector<detail::Ref<detail::FutureCore>> cores;
    for (auto& f : state_->futures) cores.push_back(detail::core_ptr(f));
    detail::start_completion_queue(state_->queue, cores, timeout);
  }

  iterator begin() const { return iterator(state_); }
  iterator end() const { return iterator(); }
  // `async for`: the tasks/futures as they finish.
  AsyncRange aiter() const { return AsyncRange(state_); }
  // `await anext(it)`: waits for the next task/future to finish and returns it; nullopt once
  // all have been handed out (StopAsyncIteration); TimeoutError if the timeout passed first.
  std::optional<F> anext(SourceLocation where = SourceLocation::current()) const {
    detail::Frame::record_await_site(where);
    return next_done(*state_);
  }
  // How many distinct awaitables there are (duplicates count once, as asyncio takes a set).
  std::size_t size() const noexcept { return state_->futures.size(); }

 private:
  static std::optional<Next> take_next(const std::shared_ptr<State>& state) {
    if (!state->queue->take()) return std::nullopt;
    return Next(state);
  }
  static std::optional<F> next_done(State& state) {
    if (!state.queue->take()) return std::nullopt;
    long index = state.queue->pop();
    if (index < 0) throw TimeoutError();
    return state.futures[static_cast<std::size_t>(index)];
  }

  std::shared_ptr<State> state_;
};

// Coroutines become tasks at once (they run concurrently); `awaitables` is a range, not one
// awaitable (asyncio's TypeError is a compile error here).
template <class Range>
requires requires(Range& r) {
  std::begin(r);
  std::end(r);
}
auto as_completed(Range&& awaitables, std::optional<double> timeout = std::nullopt) {
  using F = decltype(detail::ensure_future(std::move(*std::begin(awaitables))));
  std::vector<F> futures;
  for (auto&& a : awaitables) {
    F f = detail::ensure_future(std::move(a));
    bool seen = false;  // asyncio takes a set: each awaitable once
    for (auto& g : futures) seen = seen || &g.core() == &f.core();
    if (!seen) futures.push_back(std::move(f));
  }
  return AsCompleted<F>(std::move(futures), timeout);
}

}  // namespace weft
