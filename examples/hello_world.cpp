// asyncio-task.rst, "Coroutines": prints "hello", waits 1 second, then prints "world".
#include <iostream>

#include <weft/weft.hpp>

#include "clock.hpp"

int main(int argc, char** argv) {
  weft::run(
      [] {
        std::cout << "hello" << std::endl;
        weft::sleep(1);
        std::cout << "world" << std::endl;
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
