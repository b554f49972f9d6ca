// asyncio-task.rst, "Coroutines": the same two coroutines as tasks run concurrently, so the
// whole takes 2 s instead of 3.
#include <iostream>
#include <string>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction say_after{"say_after", [](double delay, std::string what) {
                                                 weft::sleep(delay);
                                                 std::cout << what << std::endl;
                                               }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        auto task1 = weft::create_task(say_after(1, "hello"));
        auto task2 = weft::create_task(say_after(2, "world"));
        std::cout << "started at " << examples::now() << std::endl;
        // Wait until both tasks are completed (should take around 2 seconds).
        weft::await(task1);
        weft::await(task2);
        std::cout << "finished at " << examples::now() << std::endl;
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
