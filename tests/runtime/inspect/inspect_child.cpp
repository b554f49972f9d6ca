// The process the inspect tests look into: a runtime with inspect on (RunOptions::inspect), N
// tasks named sleeper-<i> waiting on an Event, and one await chain -- a task `gatherer` that
// gathers leaf-0, leaf-1 and leaf-2. Prints "ready <socket path>" once every task waits, then
// runs until its standard input closes.
//
//   weft_inspect_child [N=10000] [workers=2]
#include <weft/weft.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

std::atomic<int> started{0};

inline const weft::CoroutineFunction sleeper{"sleeper", [](weft::Event* stop) {
                                               started.fetch_add(1, std::memory_order_relaxed);
                                               stop->wait();
                                             }};

inline const weft::CoroutineFunction gatherer{
    "gatherer", [](weft::Event* stop) {
      std::vector<weft::Task<void>> leaves;
      for (int i = 0; i < 3; ++i) {
        leaves.push_back(weft::create_task(sleeper(stop), "leaf-" + std::to_string(i)));
      }
      weft::gather(leaves);
    }};

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 10000;
  const unsigned workers = argc > 2 ? static_cast<unsigned>(std::atoi(argv[2])) : 2;
  weft::run(
      [count] {
        weft::Event stop;
        std::vector<weft::Task<void>> tasks;
        tasks.reserve(static_cast<std::size_t>(count) + 1);
        for (int i = 0; i < count; ++i) {
          tasks.push_back(weft::create_task(sleeper(&stop), "sleeper-" + std::to_string(i)));
        }
        tasks.push_back(weft::create_task(gatherer(&stop), "gatherer"));
        while (started.load(std::memory_order_relaxed) < count + 3) weft::sleep(0.01);
        weft::sleep(0.05);  // the last ones from their count to their wait
        std::printf("ready %s\n", weft::get_running_loop().inspect_path().c_str());
        std::fflush(stdout);
        weft::to_thread([] {
          char c;
          while (read(0, &c, 1) > 0) {
          }
        });
        stop.set();
        for (auto& t : tasks) weft::await(t);
      },
      {.workers = workers, .inspect = true});
}
