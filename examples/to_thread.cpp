// asyncio-task.rst, "Running in Threads": blocking I/O on the to_thread pool runs concurrently
// with a sleep on the runtime, so the whole takes 1 s, not 2.
//
// Always real time: a virtual clock would not advance while the blocking call sleeps.
// --virtual-time is accepted (every example takes it) and ignored.
#include <chrono>
#include <iostream>
#include <thread>

#include <weft/weft.hpp>

#include "clock.hpp"

int main(int, char**) {
  weft::run(
      [] {
        // The pool thread has no running loop; it reads the clock through the runtime itself.
        const weft::Runtime& runtime = weft::get_running_loop();
        auto blocking_io = [&runtime] {
          std::cout << "start blocking_io at " << examples::now(runtime) << std::endl;
          // Any blocking, I/O-bound operation would do.
          std::this_thread::sleep_for(std::chrono::seconds(1));
          std::cout << "blocking_io complete at " << examples::now(runtime) << std::endl;
        };

        std::cout << "started main at " << examples::now() << std::endl;
        // await asyncio.gather(asyncio.to_thread(blocking_io), asyncio.sleep(1)):
        // the sleep as a task, the blocking call awaited meanwhile, then the task.
        auto sleeper = weft::create_task([] { weft::sleep(1); });
        weft::to_thread(blocking_io);
        weft::await(sleeper);
        std::cout << "finished main at " << examples::now() << std::endl;
      },
      {.workers = 1, .virtual_time = false});
}
