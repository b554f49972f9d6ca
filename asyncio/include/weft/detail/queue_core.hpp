// Internal: the part of Queue<T> that does not depend on T -- asyncio's getters/putters FIFOs,
// the unfinished-task count, join() and shutdown() -- and the three item stores (FIFO, LIFO,
// heap).
// The typed part reaches its store only through ItemOp callbacks that run under the mutex.
#pragma once

#include <algorithm>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "weft/detail/sync_waiters.hpp"

namespace weft::detail {

// A non-owning reference to a callable, run under the queue's mutex.
class ItemOp {
 public:
  template <class F>
  ItemOp(F& f) noexcept  // NOLINT(google-explicit-constructor): built from lambdas in place
      : object_(&f), call_([](void* o) { (*static_cast<F*>(o))(); }) {}
  void operator()() const { call_(object_); }

 private:
  void* object_;
  void (*call_)(void*);
};

class QueueCore {
 public:
  explicit QueueCore(std::ptrdiff_t maxsize) : maxsize_(maxsize) {}
  QueueCore(const QueueCore&) = delete;
  QueueCore& operator=(const QueueCore&) = delete;

  std::ptrdiff_t maxsize() const noexcept { return maxsize_; }
  std::size_t qsize() const;
  bool empty() const;
  bool full() const;

  // Each raises QueueShutDown instead once shut down (gets only when no item is left).
  void put(ItemOp push);         // push runs once, when there is room
  void put_nowait(ItemOp push);  // QueueFull if there is no room
  void get(ItemOp pop);          // pop runs once, when there is an item
  void get_nowait(ItemOp pop);   // QueueEmpty if there is none
  void task_done();
  void join();
  // With immediate, take_all runs once, moving every item out of the store (the caller
  // destroys them once the mutex is released).
  void shutdown(bool immediate, ItemOp take_all);
  std::string repr(const char* kind) const;

 protected:
  ~QueueCore() = default;
  virtual std::size_t size_locked() const noexcept = 0;

 private:
  bool full_locked() const noexcept {
    return maxsize_ > 0 && size_locked() >= static_cast<std::size_t>(maxsize_);
  }
  void put_locked(ItemOp& push);
  void get_locked(ItemOp& pop);
  static void wakeup_next_locked(WaiterFifo& waiters);
  static void wakeup_all_locked(WaiterFifo& waiters);
  void wake_joiners_locked();

  mutable FutexLock mutex_;  // guards the store (in the derived class) and everything below
  const std::ptrdiff_t maxsize_;
  WaiterFifo getters_;
  WaiterFifo putters_;
  WaiterFifo joiners_;                // tasks in join(): asyncio's `_finished` Event
  std::size_t unfinished_tasks_ = 0;  // put() count minus task_done() count
  bool is_shutdown_ = false;          // set once by shutdown(), never cleared
};

template <class T>
struct FifoStore {
  static constexpr const char* kind = "Queue";
  std::deque<T> items;
  std::size_t size() const noexcept { return items.size(); }
  template <class U>
  void push(U&& item) {
    items.push_back(std::forward<U>(item));
  }
  T pop() {
    T item = std::move(items.front());
    items.pop_front();
    return item;
  }
};

template <class T>
struct LifoStore {
  static constexpr const char* kind = "LifoQueue";
  std::vector<T> items;
  std::size_t size() const noexcept { return items.size(); }
  template <class U>
  void push(U&& item) {
    items.push_back(std::forward<U>(item));
  }
  T pop() {
    T item = std::move(items.back());
    items.pop_back();
    return item;
  }
};

// A binary heap with the smallest item (by Compare) first, as Python's heapq.
template <class T, class Compare>
struct HeapStore {
  static constexpr const char* kind = "PriorityQueue";
  std::vector<T> items;
  Compare less;
  std::size_t size() const noexcept { return items.size(); }
  auto greater() {
    return [this](const T& a, const T& b) { return less(b, a); };
  }
  template <class U>
  void push(U&& item) {
    items.push_back(std::forward<U>(item));
    std::push_heap(items.begin(), items.end(), greater());
  }
  T pop() {
    std::pop_heap(items.begin(), items.end(), greater());
    T item = std::move(items.back());
    items.pop_back();
    return item;
  }
};

}  // namespace weft::detail
