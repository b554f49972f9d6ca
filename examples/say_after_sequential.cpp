// asyncio-task.rst, "Coroutines": awaiting two coroutines one after the other takes 1 + 2 s.
#include <iostream>
#include <string>

#include <weft/weft.hpp>

#include "clock.hpp"

// async def say_after(delay, what): await asyncio.sleep(delay); print(what)
inline const weft::CoroutineFunction say_after{"say_after", [](double delay, std::string what) {
                                                 weft::sleep(delay);
                                                 std::cout << what << std::endl;
                                               }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        std::cout << "started at " << examples::now() << std::endl;
        weft::await(say_after(1, "hello"));
        weft::await(say_after(2, "world"));
        std::cout << "finished at " << examples::now() << std::endl;
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
