// asyncio-task.rst, "Scheduling From Other Threads": a thread outside the runtime submits
// coroutines with run_coroutine_threadsafe, waits for a result, and cancels one that takes too
// long.
//
// Always real time: the caller waits 100 ms of wall-clock time while the runtime sleeps, and a
// virtual clock would let the hour-long sleep end at once. --virtual-time is accepted and ignored.
#include <chrono>
#include <future>
#include <iostream>

#include <weft/weft.hpp>

using namespace std::chrono_literals;

int main(int, char**) {
  weft::Runtime runtime({.workers = 1, .virtual_time = false});
  // From here on, main() is a foreign thread to the runtime.

  // coro = asyncio.sleep(1, result=3); future = run_coroutine_threadsafe(coro, loop)
  auto future =
      weft::run_coroutine_threadsafe(weft::coro([] { return weft::sleep(1s, 3); }), runtime);
  std::cout << future.result(10s) << std::endl;  // 3

  // A coroutine that takes too long: wait 100 ms for it, then cancel the task in the runtime.
  std::promise<bool> cancelled;
  auto seen = cancelled.get_future();
  auto slow = weft::run_coroutine_threadsafe(weft::coro([&cancelled] {
                                               try {
                                                 weft::sleep(1h);
                                               } catch (const weft::CancelledError&) {
                                                 cancelled.set_value(true);
                                                 throw;
                                               }
                                             }),
                                             runtime);
  try {
    slow.result(100ms);  // the coroutine returns nothing: Python's None
    std::cout << "The coroutine returned: None" << std::endl;
  } catch (const weft::TimeoutError&) {
    std::cout << "The coroutine took too long, cancelling the task..." << std::endl;
    slow.cancel();
  } catch (const std::exception& error) {
    std::cout << "The coroutine raised an exception: " << error.what() << std::endl;
  }
  std::cout << "cancelled: " << std::boolalpha << seen.get() << std::endl;
}
