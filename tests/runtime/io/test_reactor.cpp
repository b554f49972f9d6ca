// The reactor under the tasks (architecture.md §15): a task that waits on an fd is woken by its
// readiness, interrupted by cancellation like a sleep, woken with EBADF when the fd is taken out
// of the reactor, and the virtual clock does not jump while it waits. Each test runs on 1 and 2
// workers; the stress suite on 1-4.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <thread>
#include <vector>

#include "../runtime_test_support.hpp"
#include "sched/scheduler.hpp"
#include "weft/detail/io_wait.hpp"
#include "weft/detail/runtime_access.hpp"

namespace {

using weft::detail::IoDirection;
using weft::detail::IoHandle;
using weft_rt_test::scaled;

class Reactor : public ::testing::TestWithParam<unsigned> {};
class ReactorStress : public ::testing::TestWithParam<unsigned> {};

// A connected pair of non-blocking stream sockets, closed at scope end.
struct Pair {
  int fd[2] = {-1, -1};
  Pair() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fd) != 0) {
      throw std::runtime_error("socketpair failed");
    }
  }
  ~Pair() {
    for (int f : fd) {
      if (f >= 0) ::close(f);
    }
  }
};

// asyncio's pattern: try the syscall, wait only on EAGAIN.
std::string recv_some(const IoHandle& handle, std::size_t max = 4096) {
  std::string buffer(max, '\0');
  for (;;) {
    ssize_t n = ::recv(handle.fd, buffer.data(), max, 0);
    if (n >= 0) {
      buffer.resize(static_cast<std::size_t>(n));
      return buffer;
    }
    if (errno != EAGAIN) weft::raise_os_error(errno);
    weft::detail::io_wait(handle, IoDirection::read);
  }
}

void send_all(const IoHandle& handle, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(handle.fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      data.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (errno != EAGAIN) weft::raise_os_error(errno);
    weft::detail::io_wait(handle, IoDirection::write);
  }
}

bool has_io_waiters() {
  return weft::detail::running_scheduler("test").reactor().has_waiters();
}

TEST_P(Reactor, ReadinessWakesATaskWaitingToRead) {
  Pair pair;
  std::string got = weft::run(
      [&] {
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        IoHandle b = weft::detail::io_register(pair.fd[1]);
        auto reader = weft::create_task(weft::coro([&] { return recv_some(a); }));
        weft::sleep(0.0);  // the reader runs first and waits: nothing was sent yet
        send_all(b, "hello");
        std::string result = weft::await(reader);
        weft::detail::io_unregister(a);
        weft::detail::io_unregister(b);
        return result;
      },
      weft::RunOptions{.workers = GetParam()});
  EXPECT_EQ(got, "hello");
}

// A TCP socket not yet connected polls as EPOLLOUT | EPOLLHUP (its state is CLOSE): sockets are
// registered when made, before connect(), so that event reaches the reactor. It is not the peer
// hanging up: taken for one, it would turn off the short-read rule (connection.cpp) for every
// client connection's life. A real hang-up (the peer's shutdown, then close) is one.
TEST_P(Reactor, AnUnconnectedSocketsHangUpIsNotThePeerHangingUp) {
  weft::run(
      [&] {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        ASSERT_GE(fd, 0);
        IoHandle unconnected = weft::detail::io_register(fd);
        // Returns only once a poll dispatched the registration's event (it readies writing).
        weft::detail::io_wait(unconnected, IoDirection::write);
        EXPECT_FALSE(weft::detail::io_read_hung_up(unconnected));
        weft::detail::io_unregister(unconnected);
        ::close(fd);

        Pair pair;
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        EXPECT_FALSE(weft::detail::io_read_hung_up(a));
        ::shutdown(pair.fd[1], SHUT_WR);
        weft::detail::io_wait(a, IoDirection::read);
        EXPECT_TRUE(weft::detail::io_read_hung_up(a));  // EPOLLRDHUP
        weft::detail::io_unregister(a);

        Pair reset;
        IoHandle b = weft::detail::io_register(reset.fd[0]);
        ::close(reset.fd[1]);
        reset.fd[1] = -1;
        weft::detail::io_wait(b, IoDirection::read);
        EXPECT_TRUE(weft::detail::io_read_hung_up(b));  // EPOLLHUP with EPOLLRDHUP
        weft::detail::io_unregister(b);
      },
      weft::RunOptions{.workers = GetParam()});
}

TEST_P(Reactor, AForeignThreadsWriteWakesTheBlockedPoller) {
  // Every worker parks; one blocks in epoll. Only the peer's bytes can wake anyone.
  Pair pair;
  std::atomic<bool> waiting{false};
  std::thread writer([&] {
    while (!waiting.load()) std::this_thread::yield();
    ::send(pair.fd[1], "x", 1, MSG_NOSIGNAL);
  });
  std::string got = weft::run(
      [&] {
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        std::string buffer(16, '\0');
        EXPECT_EQ(::recv(a.fd, buffer.data(), buffer.size(), 0), -1);
        waiting.store(true);
        std::string result = recv_some(a);
        weft::detail::io_unregister(a);
        return result;
      },
      weft::RunOptions{.workers = GetParam()});
  writer.join();
  EXPECT_EQ(got, "x");
}

TEST_P(Reactor, ASubmissionFromAnotherThreadBreaksTheBlockedPoller) {
  // A task waits on a socket nobody writes to, so a parking worker blocks in epoll with no
  // deadline; work submitted from outside must still run (the eventfd breaks the poll).
  Pair pair;
  weft::Runtime runtime(weft::RunOptions{.workers = GetParam()});
  auto reader = weft::run_coroutine_threadsafe(weft::coro([&] {
                                                 IoHandle a = weft::detail::io_register(pair.fd[0]);
                                                 std::string got = recv_some(a);
                                                 weft::detail::io_unregister(a);
                                                 return got;
                                               }),
                                               runtime);
  for (int i = 0; i < 20; ++i) {
    // Give the workers time to park between submissions: each must break the poller anew.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    auto answer = weft::run_coroutine_threadsafe(weft::coro([i] { return i * 2; }), runtime);
    EXPECT_EQ(answer.result(), i * 2);
  }
  ::send(pair.fd[1], "end", 3, MSG_NOSIGNAL);
  EXPECT_EQ(reader.result(), "end");
}

TEST_P(Reactor, CancelInterruptsAnIoWaitAndNoByteIsLost) {
  Pair pair;
  weft::run(
      [&] {
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        IoHandle b = weft::detail::io_register(pair.fd[1]);
        auto reader = weft::create_task(weft::coro([&] { return recv_some(a); }));
        // On 2 workers another worker may take the reader's first step a little later.
        while (!has_io_waiters()) weft::sleep(0.0);
        reader.cancel("stop reading");
        try {
          weft::await(reader);
          ADD_FAILURE() << "the read was not interrupted";
        } catch (const weft::CancelledError& e) {
          EXPECT_EQ(e.message(), "stop reading");
        }
        EXPECT_FALSE(has_io_waiters());
        // What arrives now waits in the socket for the next read.
        send_all(b, "kept");
        EXPECT_EQ(recv_some(a), "kept");
        weft::detail::io_unregister(a);
        weft::detail::io_unregister(b);
      },
      weft::RunOptions{.workers = GetParam()});
}

TEST_P(Reactor, WaitForTimesOutAnIoWait) {
  Pair pair;
  weft::run(
      [&] {
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        EXPECT_THROW(weft::wait_for(weft::coro([&] { return recv_some(a); }), 0.001),
                     weft::TimeoutError);
        EXPECT_FALSE(has_io_waiters());
        weft::detail::io_unregister(a);
      },
      weft::RunOptions{.workers = GetParam()});
}

TEST_P(Reactor, UnregisteringWakesTheWaitersOfBothDirectionsWithEbadf) {
  Pair pair;
  weft::run(
      [&] {
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        // Fill the send buffer so that a writer waits too.
        std::string chunk(65536, 'x');
        while (::send(a.fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) {
        }
        auto reader = weft::create_task(weft::coro([&] { return recv_some(a); }));
        auto writer = weft::create_task(weft::coro([&] { send_all(a, chunk); }));
        weft::sleep(0.0);
        weft::sleep(0.0);
        weft::detail::io_unregister(a);
        try {
          weft::await(reader);
          ADD_FAILURE() << "the reader was not woken";
        } catch (const weft::OSError& e) {
          EXPECT_EQ(e.error_number(), EBADF);
        }
        try {
          weft::await(writer);
          ADD_FAILURE() << "the writer was not woken";
        } catch (const weft::OSError& e) {
          EXPECT_EQ(e.error_number(), EBADF);
        }
        EXPECT_FALSE(has_io_waiters());
      },
      weft::RunOptions{.workers = GetParam()});
}

TEST_P(Reactor, ASecondWaiterOnOneDirectionIsARuntimeError) {
  Pair pair;
  weft::run(
      [&] {
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        auto first = weft::create_task(weft::coro([&] { return recv_some(a); }));
        while (!has_io_waiters()) weft::sleep(0.0);
        EXPECT_THROW(recv_some(a), weft::RuntimeError);
        first.cancel();
        EXPECT_THROW(weft::await(first), weft::CancelledError);
        weft::detail::io_unregister(a);
      },
      weft::RunOptions{.workers = GetParam()});
}

TEST_P(Reactor, AReusedFdNumberStartsAFreshGeneration) {
  weft::run(
      [&] {
        auto first = std::make_unique<Pair>();
        IoHandle old_handle = weft::detail::io_register(first->fd[0]);
        weft::detail::io_unregister(old_handle);
        int number = first->fd[0];
        first.reset();  // closes both fds
        Pair second;    // most likely gets the same numbers back
        IoHandle a = weft::detail::io_register(second.fd[0]);
        IoHandle b = weft::detail::io_register(second.fd[1]);
        if (a.fd == number) {
          EXPECT_NE(a.generation, old_handle.generation);
        }
        // The old handle is dead: waiting on it raises, the new one works.
        try {
          weft::detail::io_wait(old_handle, IoDirection::read);
          ADD_FAILURE() << "a wait on an unregistered generation returned";
        } catch (const weft::OSError& e) {
          EXPECT_EQ(e.error_number(), EBADF);
        }
        send_all(b, "fresh");
        EXPECT_EQ(recv_some(a), "fresh");
        weft::detail::io_unregister(a);
        weft::detail::io_unregister(b);
      },
      weft::RunOptions{.workers = GetParam()});
}

TEST_P(Reactor, VirtualTimeDoesNotJumpWhileATaskWaitsOnRealIo) {
  Pair pair;
  std::atomic<bool> waiting{false};
  std::thread writer([&] {
    while (!waiting.load()) std::this_thread::yield();
    // Real time passes here; a clock that jumped would be at 3600 by now.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::send(pair.fd[1], "late", 4, MSG_NOSIGNAL);
  });
  double woke_at = weft::run(
      [&] {
        IoHandle a = weft::detail::io_register(pair.fd[0]);
        auto sleeper = weft::create_task(weft::coro([] { weft::sleep(3600.0); }));
        waiting.store(true);
        EXPECT_EQ(recv_some(a), "late");
        double now = weft::get_running_loop().time();
        weft::await(sleeper);  // and once nobody waits on I/O, it jumps
        EXPECT_DOUBLE_EQ(weft::get_running_loop().time(), 3600.0);
        weft::detail::io_unregister(a);
        return now;
      },
      weft::RunOptions{.workers = GetParam(), .virtual_time = true});
  writer.join();
  EXPECT_EQ(woke_at, 0.0);
}

TEST_P(Reactor, TwoShardsServeFdsOfEitherParity) {
  std::vector<std::unique_ptr<Pair>> pairs;
  for (int i = 0; i < 6; ++i) pairs.push_back(std::make_unique<Pair>());
  weft::run(
      [&] {
        std::vector<weft::Task<std::string>> readers;
        std::vector<IoHandle> handles;
        for (auto& pair : pairs) {
          IoHandle a = weft::detail::io_register(pair->fd[0]);
          handles.push_back(a);
          readers.push_back(weft::create_task(weft::coro([a] { return recv_some(a); })));
        }
        weft::sleep(0.0);
        for (auto& pair : pairs) ::send(pair->fd[1], "s", 1, MSG_NOSIGNAL);
        for (auto& reader : readers) EXPECT_EQ(weft::await(reader), "s");
        for (auto& handle : handles) weft::detail::io_unregister(handle);
      },
      weft::RunOptions{.workers = GetParam(), .io_shards = 2});
}

TEST_P(ReactorStress, PingPongOverManyPairsWhileSomeWaitsAreCancelled) {
  // Each pair's two tasks bounce a counter; a third task cancels readers of other pairs' sockets
  // that wait forever. Every message must arrive exactly once, in order.
  const int pairs_count = static_cast<int>(scaled(200));
  int rounds = static_cast<int>(scaled(500)) + 5;
  std::vector<std::unique_ptr<Pair>> pairs;
  std::vector<std::unique_ptr<Pair>> idle;
  for (int i = 0; i < pairs_count; ++i) {
    pairs.push_back(std::make_unique<Pair>());
    idle.push_back(std::make_unique<Pair>());
  }
  std::atomic<long> exchanged{0};
  weft::run(
      [&] {
        std::vector<weft::Task<void>> tasks;
        std::vector<IoHandle> handles;
        for (int i = 0; i < pairs_count; ++i) {
          IoHandle a = weft::detail::io_register(pairs[i]->fd[0]);
          IoHandle b = weft::detail::io_register(pairs[i]->fd[1]);
          IoHandle quiet = weft::detail::io_register(idle[i]->fd[0]);
          handles.insert(handles.end(), {a, b, quiet});
          tasks.push_back(weft::create_task(weft::coro([a, rounds, &exchanged] {
            for (int r = 0; r < rounds; ++r) {
              send_all(a, std::to_string(r) + ";");
              std::string reply;
              while (reply.empty() || reply.back() != ';') reply += recv_some(a, 1);
              EXPECT_EQ(reply, std::to_string(r) + ";");
              exchanged.fetch_add(1, std::memory_order_relaxed);
            }
          })));
          tasks.push_back(weft::create_task(weft::coro([b, rounds] {
            for (int r = 0; r < rounds; ++r) {
              std::string message;
              while (message.empty() || message.back() != ';') message += recv_some(b, 1);
              send_all(b, message);
            }
          })));
          auto victim = weft::create_task(weft::coro([quiet] { return recv_some(quiet); }));
          tasks.push_back(weft::create_task(weft::coro([victim]() mutable {
            weft::sleep(0.0);
            victim.cancel();
            EXPECT_THROW(weft::await(victim), weft::CancelledError);
          })));
        }
        for (auto& task : tasks) weft::await(task);
        EXPECT_FALSE(has_io_waiters());
        for (auto& handle : handles) weft::detail::io_unregister(handle);
      },
      weft::RunOptions{.workers = GetParam()});
  EXPECT_EQ(exchanged.load(), static_cast<long>(pairs_count) * rounds);
}

INSTANTIATE_TEST_SUITE_P(Workers, Reactor, ::testing::Values(1u, 2u));
INSTANTIATE_TEST_SUITE_P(Workers, ReactorStress, ::testing::Values(1u, 2u, 3u, 4u));

}  // namespace
