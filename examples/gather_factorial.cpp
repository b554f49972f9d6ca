// asyncio-task.rst, "Running Tasks Concurrently": gather runs three factorials concurrently and
// returns their results in argument order.
#include <iostream>
#include <string>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction factorial{
    "factorial", [](std::string name, int number) {
      long f = 1;
      for (int i = 2; i <= number; ++i) {
        std::cout << "Task " << name << ": Compute factorial(" << number << "), currently i=" << i
                  << "..." << std::endl;
        weft::sleep(1.0);
        f *= i;
      }
      std::cout << "Task " << name << ": factorial(" << number << ") = " << f << std::endl;
      return f;
    }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        // Schedule three calls *concurrently*:
        auto [a, b, c] = weft::gather(factorial("A", 2), factorial("B", 3), factorial("C", 4));
        std::cout << "[" << a << ", " << b << ", " << c << "]" << std::endl;
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
