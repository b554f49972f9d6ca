// asyncio-task.rst, as_completed: three tasks sleeping 3, 1 and 2 s; their results arrive
// earliest first.
#include <iostream>
#include <vector>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction after{"after", [](int seconds) {
                                             weft::sleep(static_cast<double>(seconds));
                                             return seconds;
                                           }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        std::vector<weft::Task<int>> tasks;
        for (int seconds : {3, 1, 2}) tasks.push_back(weft::create_task(after(seconds)));
        for (auto next : weft::as_completed(tasks)) {
          int earliest = weft::await(next);
          std::cout << earliest << " at " << examples::now() << std::endl;
        }
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
