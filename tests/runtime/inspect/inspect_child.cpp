// The process the inspect tests look into: a runtime with inspect on (RunOptions::inspect), N
// tasks named sleeper-<i> waiting on an Event, and one await chain -- a task `gatherer` that
// gathers leaf-0, leaf-1 and leaf-2. Prints "ready <socket path>" once every task waits, then
// runs until its standard input closes.
//
//   weft_inspect_child [N=10000] [workers=2]
//   weft_inspect_child --connect-as UID PATH directory|server   (see connect_as)
#include <weft/weft.hpp>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/un.h>
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

// --connect-as UID PATH directory|server: becomes UID and connects to PATH, expecting to be
// kept out by the directory (connect fails with EACCES) or by the server (one line, "error:
// permission denied"). Exits 0 if kept out so, 1 if it got in, 2 if it could not try.
int connect_as(uid_t uid, const char* path, const std::string& by) {
  if (setgid(uid) != 0 || setuid(uid) != 0) return 2;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path, sizeof address.sun_path - 1);
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    return by == "directory" && errno == EACCES ? 0 : 2;
  }
  // The server may have answered and closed before reading: a failed send is no failure here.
  (void)send(fd, "ps\n", 3, MSG_NOSIGNAL);
  std::string reply;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) reply.append(buf, static_cast<std::size_t>(n));
  std::fprintf(stderr, "as uid %u: %s", static_cast<unsigned>(uid), reply.c_str());
  return by == "server" && reply.rfind("error: permission denied", 0) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--connect-as") {
    return connect_as(static_cast<uid_t>(std::atoi(argv[2])), argv[3], argv[4]);
  }
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
