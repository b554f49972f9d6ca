// The coroutine life cycle of coroutine-lifecycle.txt, stepped by hand: a coroutine object does
// nothing until something sends into it, suspends at each await, and is closed once it returns.
//
//   coro = fetch()
//   print(inspect.getcoroutinestate(coro))  # CORO_CREATED
//   # After first send: CORO_SUSPENDED
//   # After completion: CORO_CLOSED
#include <weft/core.hpp>

#include <iostream>

namespace {

// An awaitable that is not ready the first time: the coroutine suspends on it once.
struct NotReadyYet {
  int await() {
    weft::suspend();
    return 41;
  }
};

const weft::CoroutineFunction fetch{"fetch", [] { return weft::await(NotReadyYet{}) + 1; }};

}  // namespace

int main() {
  weft::Coroutine<int> coro = fetch();  // nothing runs
  std::cout << weft::getcoroutinestate(coro) << "\n";
  coro.send();  // runs until the await suspends it (Task.__step's first coro.send(None))
  std::cout << weft::getcoroutinestate(coro) << "\n";
  auto last = coro.send();  // resumes; fetch returns 42 (StopIteration.value)
  std::cout << weft::getcoroutinestate(coro) << "\n";
  return last.value() == 42 ? 0 : 1;
}
