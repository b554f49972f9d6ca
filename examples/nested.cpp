// asyncio-task.rst, "Awaitables": a coroutine runs only when awaited (or made a task).
#include <iostream>

#include <weft/weft.hpp>

#include "clock.hpp"

// async def nested(): return 42
inline const weft::CoroutineFunction nested{"nested", [] { return 42; }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        // Nothing happens if we just call nested(): a coroutine object is made but not awaited,
        // so it won't run at all (Python, and weft, warn on stderr that it was never awaited).
        nested();
        // Let's do it differently now and await it:
        std::cout << weft::await(nested()) << std::endl;  // prints 42
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
