// asyncio-task.rst, "Running Tasks Concurrently": gather runs three factorial coroutines
// concurrently; their steps interleave, one per second of (virtual) time.
#include <iostream>
#include <string>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction factorial{
    "factorial", [](std::string name, int number) {
      long f = 1;
      for (int i = 2; i <= number; ++i) {
        std::cout << "Task " << name << ": Compute factorial(" << i << ")..." << std::endl;
        weft::sleep(1.0);
        f *= i;
      }
      std::cout << "Task " << name << ": factorial(" << number << ") = " << f << std::endl;
    }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        // Schedule three calls *concurrently*:
        weft::gather(factorial("A", 2), factorial("B", 3), factorial("C", 4));
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
