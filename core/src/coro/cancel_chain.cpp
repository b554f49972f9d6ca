// FutureCore::cancel: the walk down a chain of cancellations.
//
// Task.cancel passes the cancellation on to the future the task awaits, which may be a task that
// passes it on again, or a gather that passes it to each child; each then answers whether it was
// cancelled, and the answer decides what the one above does. Written as a recursion -- as asyncio
// writes it -- the walk needs stack in proportion to the chain: a thousand tasks each awaiting
// the next overflowed a 64 KiB fiber stack, and an await cycle (a awaits b, b awaits a) recursed
// forever. Here the walk is a loop over an explicit stack of the futures still deciding, in heap
// memory; each future's part is split into begin_cancel (which may name what to cancel next) and
// end_cancel (which hears the answer). A future met again while it is still on the stack closes
// a cycle: it is asked to take the cancellation itself (cancel_in_cycle: a task is woken with
// CancelledError without waiting for what it awaits), so each future in the cycle is cancelled
// once and the cycle unwinds.
#include <unordered_set>
#include <vector>

#include "weft/detail/future_core.hpp"

namespace weft::detail {

bool FutureCore::cancel(std::string message) {
  CancelPlan plan = begin_cancel(message);
  if (plan.decided) return plan.result;  // a plain future, a done task, a task asleep

  // A future still deciding: it waits for the answers of those it passed the cancel on to.
  struct Deciding {
    FutureCore* future;  // kept alive by the plan of the one below it (or by our caller)
    CancelPlan plan;
    std::size_t next = 0;  // how many of those it passes on to were asked already
    bool any = false;      // whether cancelling one of them succeeded
  };
  auto next_to_cancel = [](Deciding& d) -> FutureCore* {
    if (d.plan.one) return d.next++ == 0 ? d.plan.one.get() : nullptr;
    if (d.plan.many && d.next < d.plan.many->size()) return (*d.plan.many)[d.next++].get();
    return nullptr;
  };

  std::vector<Deciding> stack;
  stack.reserve(4);  // one allocation for the common case: a task awaiting a task or a future
  // Whether a future is on the stack: a scan while the stack is short (a cancel through a few
  // awaits allocates no set), a set once it is deep (a chain of thousands stays linear).
  constexpr std::size_t scan_limit = 16;
  std::unordered_set<FutureCore*> deep_on_stack;
  auto on_stack = [&](FutureCore* future) {
    if (stack.size() <= scan_limit) {
      for (const Deciding& d : stack) {
        if (d.future == future) return true;
      }
      return false;
    }
    if (deep_on_stack.empty()) {
      for (const Deciding& d : stack) deep_on_stack.insert(d.future);
    }
    return deep_on_stack.count(future) != 0;
  };
  stack.push_back(Deciding{this, std::move(plan), 0, false});
  for (;;) {
    Deciding& top = stack.back();
    if (FutureCore* next = next_to_cancel(top)) {
      if (on_stack(next)) {
        top.any = next->cancel_in_cycle(message) || top.any;
        continue;
      }
      CancelPlan next_plan = next->begin_cancel(message);
      if (next_plan.decided) {
        top.any = next_plan.result || top.any;
        continue;
      }
      if (!deep_on_stack.empty()) deep_on_stack.insert(next);
      stack.push_back(Deciding{next, std::move(next_plan), 0, false});  // invalidates `top`
      continue;
    }
    bool result = top.future->end_cancel(top.any, message);
    if (!deep_on_stack.empty()) deep_on_stack.erase(top.future);
    stack.pop_back();
    if (stack.size() <= scan_limit) deep_on_stack.clear();
    if (stack.empty()) return result;
    stack.back().any = result || stack.back().any;
  }
}

}  // namespace weft::detail
