// TaskGroup (Python 3.11; asyncio-task.rst predates it and has no example of it): child 1 fails
// after 1 s, so the group cancels child 2 (sleeping 10 s) and raises child 1's error in an
// ExceptionGroup (child 2's cancellation is not a failure, so it is not in the group).
#include <iostream>
#include <stdexcept>

#include <weft/weft.hpp>

#include "clock.hpp"

int main(int argc, char** argv) {
  weft::run(
      [] {
        try {
          weft::task_group([](weft::TaskGroup& group) {
            group.create_task([] {
              weft::sleep(1.0);
              throw std::runtime_error("boom");
            });
            group.create_task([] {
              try {
                weft::sleep(10.0);
              } catch (const weft::CancelledError&) {
                std::cout << "child 2 cancelled" << std::endl;
                throw;
              }
            });
          });
        } catch (const weft::ExceptionGroup& group) {
          for (const auto& error : group.exceptions()) {
            try {
              std::rethrow_exception(error);
            } catch (const std::exception& e) {
              std::cout << "caught: " << e.what() << std::endl;
            }
          }
        }
      },
      {.workers = 1, .virtual_time = examples::virtual_time(argc, argv)});
}
