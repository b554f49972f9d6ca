// shield(aw): protects an awaitable from cancellation (asyncio.shield).
//
//   int v = weft::await(weft::shield(task));
//
// If the task awaiting the shield is cancelled, its await raises CancelledError but the inner
// task keeps running. If the inner one is cancelled (from elsewhere), the shield is too. An
// awaitable already done is returned as it is (a Task seen as the Future it is). If the inner one
// fails after its shield was cancelled, nobody is left to see the error: it goes to the
// exception handler then, once however many shields were cancelled ("ValueError exception in
// shielded future", asyncio 3.14).
#pragma once

#include <type_traits>

#include "weft/detail/awaitables.hpp"

namespace weft {

namespace detail {
template <class F>
void log_shielded_exception(F& inner) {
  core_ptr(inner)->report_shielded_exception();
}
}  // namespace detail

template <class A>
auto shield(A&& awaitable) {
  auto inner = detail::ensure_future(std::forward<A>(awaitable));
  using R = typename detail::result_of<decltype(inner)>::type;
  if (inner.done()) return Future<R>(inner);  // asyncio: the awaitable itself, nothing to shield
  Future<R> outer;  // bound to the running runtime, like loop.create_future()
  auto copy_state = [outer](auto& done) mutable {
    try {
      if (outer.cancelled()) {
        if (!done.cancelled()) done.exception();  // mark retrieved
      } else if (done.cancelled()) {
        outer.cancel();
      } else if (auto error = done.exception()) {
        outer.set_exception(error);
      } else if constexpr (std::is_void_v<R>) {
        outer.set_result();
      } else {
        outer.set_result(done.result());
      }
    } catch (const InvalidStateError&) {
      // The outer future was cancelled on another worker meanwhile; it keeps that outcome.
    }
  };
  // The await graph: the task that shields awaits the inner one until it ends (asyncio 3.14);
  // the callback holds that task, so the record never outlives it.
  if (detail::TaskCore* task = detail::current_task_core()) {
    detail::Ref<detail::FutureCore> held(task);  // running: it holds itself
    detail::core_ptr(inner)->add_awaited_by(*held);
    inner.add_done_callback(
        [held](auto& done) { detail::core_ptr(done)->discard_awaited_by(*held); });
  }
  auto id = inner.add_done_callback(copy_state);
  outer.add_done_callback([inner, id](Future<R>& self) mutable {
    if (inner.done()) return;
    inner.remove_done_callback(id);
    // One reporter per inner future, however many of its shields were cancelled (asyncio
    // removes and re-adds one function; two workers could both re-add, so a flag decides).
    if (self.cancelled() && detail::core_ptr(inner)->arm_shield_report()) {
      inner.add_done_callback(&detail::log_shielded_exception<decltype(inner)>);
    }
  });
  return outer;
}

}  // namespace weft
