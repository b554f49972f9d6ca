// asyncio-task.rst, Task.cancel: the task sees CancelledError at its sleep, cleans up, and
// lets it propagate; its awaiter then sees the task cancelled.
#include <iostream>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction cancel_me{
    "cancel_me", [] {
      std::cout << "cancel_me(): before sleep" << std::endl;
      struct Finally {  // Python's `finally:`
        ~Finally() { std::cout << "cancel_me(): after sleep" << std::endl; }
      } after_sleep;
      try {
        weft::sleep(3600.0);  // wait for 1 hour
      } catch (const weft::CancelledError&) {
        std::cout << "cancel_me(): cancel sleep" << std::endl;
        throw;
      }
    }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        auto task = weft::create_task(cancel_me());  // create a "cancel_me" Task
        weft::sleep(1.0);                            // wait for 1 second
        task.cancel();
        try {
          weft::await(task);
        } catch (const weft::CancelledError&) {
          std::cout << "main(): cancel_me is cancelled now" << std::endl;
        }
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
