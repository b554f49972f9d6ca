// asyncio-task.rst, wait: the fixed snippet -- wait on a task (not a coroutine), then find the
// task in the done set.
#include <iostream>
#include <vector>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction foo{"foo", [] { return 42; }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        auto task = weft::create_task(foo());
        auto [done, pending] = weft::wait(std::vector{task});
        if (done.contains(task)) std::cout << "task in done" << std::endl;
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
