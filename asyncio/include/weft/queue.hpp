// Queue<T>, LifoQueue<T>, PriorityQueue<T>: asyncio's queues, for producer and consumer tasks.
//
//   weft::Queue<int> q(10);            // maxsize 10; 0 (the default) or less: unbounded
//   q.put(7);                          // suspends while the queue is full
//   int v = q.get();                   // suspends while it is empty
//   q.task_done();                     // one per item got, once it is processed
//   q.join();                          // waits until every item put has been task_done()
//
// put_nowait / get_nowait raise QueueFull / QueueEmpty instead of waiting. Waiting putters and
// getters are woken in FIFO order. LifoQueue returns the newest item first; PriorityQueue the
// smallest (by Compare, std::less by default), like Python's heapq.
//
//   q.shutdown();                      // asyncio 3.13's Queue.shutdown(): no more puts
//   q.shutdown(true);                  // immediate: also drop the items left
//
// After shutdown() put / put_nowait raise QueueShutDown, and waiting putters are woken to raise
// it; get / get_nowait return the items left, then raise QueueShutDown (waiting getters too).
// shutdown(true) drops the items first and counts each as task_done(), so join() can return.
// put() and get() and join() only inside a task; the rest from any thread. If put() is
// cancelled while it waits, the item is not moved from. Not copyable or movable.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/detail/queue_core.hpp"

namespace weft {

// asyncio.QueueEmpty: get_nowait() on an empty queue.
class QueueEmpty : public std::exception {
 public:
  const char* what() const noexcept override { return "QueueEmpty"; }
};
// asyncio.QueueFull: put_nowait() on a full queue.
class QueueFull : public std::exception {
 public:
  const char* what() const noexcept override { return "QueueFull"; }
};
// asyncio.QueueShutDown: a put on a shut-down queue, or a get once it is shut down and empty.
class QueueShutDown : public std::exception {
 public:
  const char* what() const noexcept override { return "QueueShutDown"; }
};

template <class T, class Store>
class BasicQueue : private detail::QueueCore {
 public:
  explicit BasicQueue(std::ptrdiff_t maxsize = 0) : QueueCore(maxsize) {}

  // Adds an item, waiting for a free slot while the queue is full.
  void put(const T& item) {
    put_with([&] { store_.push(item); });
  }
  void put(T&& item) {
    put_with([&] { store_.push(std::move(item)); });
  }
  // Adds an item now, or raises QueueFull.
  void put_nowait(const T& item) {
    put_nowait_with([&] { store_.push(item); });
  }
  void put_nowait(T&& item) {
    put_nowait_with([&] { store_.push(std::move(item)); });
  }
  // Removes and returns an item, waiting for one while the queue is empty.
  T get() {
    std::optional<T> out;
    auto pop = [&] { out.emplace(store_.pop()); };
    QueueCore::get(pop);
    return std::move(*out);
  }
  // Removes and returns an item now, or raises QueueEmpty.
  T get_nowait() {
    std::optional<T> out;
    auto pop = [&] { out.emplace(store_.pop()); };
    QueueCore::get_nowait(pop);
    return std::move(*out);
  }

  // A consumer is done with an item it got. ValueError("task_done() called too many times").
  using QueueCore::task_done;
  // Waits until every item put has been marked task_done().
  using QueueCore::join;
  // Puts raise QueueShutDown from now on, and gets once the queue is empty; every waiting
  // putter and getter is woken to re-check. immediate: the items left are dropped (destroyed
  // after the queue's lock is released) and each counted as task_done().
  void shutdown(bool immediate = false) {
    decltype(store_.items) dropped;
    auto take_all = [&] { dropped.swap(store_.items); };
    QueueCore::shutdown(immediate, take_all);
  }

  using QueueCore::empty;
  using QueueCore::full;  // never true when maxsize <= 0
  using QueueCore::maxsize;
  using QueueCore::qsize;
  // "<Queue maxsize=10 qsize=3 tasks=3>" (the items are not printed), " shutdown" at the end
  // once shut down
  std::string repr() const { return QueueCore::repr(Store::kind); }

 private:
  template <class F>
  void put_with(F push) {
    QueueCore::put(push);
  }
  template <class F>
  void put_nowait_with(F push) {
    QueueCore::put_nowait(push);
  }
  std::size_t size_locked() const noexcept override { return store_.size(); }

  Store store_;  // guarded by the core's mutex
};

template <class T>
class Queue : public BasicQueue<T, detail::FifoStore<T>> {
 public:
  using BasicQueue<T, detail::FifoStore<T>>::BasicQueue;
};

template <class T>
class LifoQueue : public BasicQueue<T, detail::LifoStore<T>> {
 public:
  using BasicQueue<T, detail::LifoStore<T>>::BasicQueue;
};

template <class T, class Compare = std::less<T>>
class PriorityQueue : public BasicQueue<T, detail::HeapStore<T, Compare>> {
 public:
  using BasicQueue<T, detail::HeapStore<T, Compare>>::BasicQueue;
};

}  // namespace weft
