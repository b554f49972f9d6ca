// asyncio-task.rst, "Shielding From Cancellation": the caller awaiting shield(inner), inner a
// task running slow(), is cancelled after 1 s; inner keeps running and finishes at 2 s.
#include <iostream>

#include <weft/weft.hpp>

#include "clock.hpp"

inline const weft::CoroutineFunction slow{"slow", [] {
                                            weft::sleep(2.0);
                                            return 42;
                                          }};

int main(int argc, char** argv) {
  weft::run(
      [] {
        auto inner = weft::create_task(slow());
        auto caller = weft::create_task([inner] { return weft::await(weft::shield(inner)); });
        weft::sleep(1.0);
        caller.cancel();
        try {
          weft::await(caller);
        } catch (const weft::CancelledError&) {
          std::cout << "caller cancelled at " << examples::now() << std::endl;
        }
        int value = weft::await(inner);
        std::cout << "inner finished: " << value << " at " << examples::now() << std::endl;
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
