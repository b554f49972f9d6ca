// asyncio-task.rst, wait_for: a coroutine that sleeps an hour, given one second.
#include <iostream>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction eternity{"eternity", [] {
                                                weft::sleep(3600.0);  // sleep for one hour
                                                std::cout << "yay!" << std::endl;
                                              }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        try {
          weft::wait_for(eternity(), 1.0);  // wait for at most 1 second
        } catch (const weft::TimeoutError&) {
          std::cout << "timeout!" << std::endl;
        }
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
