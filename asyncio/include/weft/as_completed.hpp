// as_completed(aws, timeout): the awaitables' results in the order they finish
// (asyncio.as_completed). Each element is an awaitable giving the next earliest result;
// TimeoutError if the timeout passes first.
//
//   for (auto next : weft::as_completed(tasks)) {
//     int earliest = weft::await(next);
//   }
#pragma once

#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "weft/detail/awaitables.hpp"
#include "weft/runtime.hpp"

namespace weft {

namespace detail {
// Shared by the range and the callbacks: the finished futures, in order.
struct CompletionQueue {
  std::mutex mutex;
  std::deque<long> finished;         // guarded; -1 = timed out
  std::deque<Future<long>> getters;  // guarded; tasks waiting for the next one
  std::vector<bool> outstanding;     // guarded
  std::size_t remaining = 0;         // guarded
  TimerHandle timer;                 // guarded
  void push(long index);
  long pop();  // suspends until one is available
};
void start_completion_queue(const std::shared_ptr<CompletionQueue>& queue,
                            const std::vector<std::shared_ptr<FutureCore>>& futures,
                            std::optional<double> timeout);
}  // namespace detail

template <class F>
class AsCompleted {
 public:
  using R = typename detail::result_of<F>::type;

  // One "next result" awaitable.
  class Next {
   public:
    Value<R> await() const {
      long index = owner_->queue_->pop();
      if (index < 0) throw TimeoutError();
      return detail::take_awaited(owner_->futures_[static_cast<std::size_t>(index)]);
    }

   private:
    friend class AsCompleted;
    explicit Next(const AsCompleted* owner) : owner_(owner) {}
    const AsCompleted* owner_;
  };

  class iterator {
   public:
    using value_type = Next;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    Next operator*() const { return Next(owner_); }
    iterator& operator++() {
      ++position_;
      return *this;
    }
    void operator++(int) { ++position_; }
    bool operator==(const iterator& other) const { return position_ == other.position_; }

   private:
    friend class AsCompleted;
    iterator(const AsCompleted* owner, std::size_t position) : owner_(owner), position_(position) {}
    const AsCompleted* owner_ = nullptr;
    std::size_t position_ = 0;
  };

  AsCompleted(std::vector<F> futures, std::optional<double> timeout)
      : futures_(std::move(futures)), queue_(std::make_shared<detail::CompletionQueue>()) {
    std::vector<std::shared_ptr<detail::FutureCore>> cores;
    for (auto& f : futures_) cores.push_back(detail::core_ptr(f));
    detail::start_completion_queue(queue_, cores, timeout);
  }
  iterator begin() const { return iterator(this, 0); }
  iterator end() const { return iterator(this, futures_.size()); }
  std::size_t size() const noexcept { return futures_.size(); }

 private:
  std::vector<F> futures_;
  std::shared_ptr<detail::CompletionQueue> queue_;
};

template <class Range>
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
