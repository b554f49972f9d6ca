// add_reader / add_writer against remove_*() from another worker: asyncio's promise that no call
// starts once remove_*() returned, and that a call in progress has ended by then (the call gate
// in asyncio/src/net/readers_writers.cpp). The CI found the first one broken: test_writer_callback
// saw its callback run once more after the test had returned, reading a destroyed Event.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include <weft/weft.hpp>

namespace {

struct SocketPair {
  int fds[2] = {-1, -1};
  SocketPair() {
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  }
  ~SocketPair() {
    ::close(fds[0]);
    ::close(fds[1]);
  }
};

// An empty socket is always writable: the watcher calls back on every loop pass, so remove_writer
// meets it anywhere in its loop -- before the gate, inside the call, or after it.
TEST(ReadersWritersStress, NoCallbackStartsAfterRemoveWriterReturned) {
  constexpr int kRounds = 300;
  SocketPair pair;
  std::atomic<int> late_calls{0};
  int rounds_with_calls = 0;
  weft::run(
      [&] {
        for (int round = 0; round < kRounds; ++round) {
          std::atomic<bool> removed{false};
          std::atomic<int> calls{0};
          weft::add_writer(pair.fds[1], [&] {
            if (removed.load()) late_calls.fetch_add(1);
            calls.fetch_add(1);
          });
          // Let it run a few times, more often than not on the other worker.
          while (calls.load() < 1 + round % 3) weft::sleep(0);
          EXPECT_TRUE(weft::remove_writer(pair.fds[1]));
          removed.store(true);
          const int seen = calls.load();
          for (int i = 0; i < 3; ++i) weft::sleep(0);
          EXPECT_EQ(calls.load(), seen) << "round " << round;
          if (seen > 0) ++rounds_with_calls;
        }
      },
      {.workers = 2});
  EXPECT_EQ(late_calls.load(), 0);
  EXPECT_EQ(rounds_with_calls, kRounds);
}

TEST(ReadersWriters, RemoveWriterReturnsOnlyAfterACallInProgressOnAnotherWorkerEnded) {
  SocketPair pair;
  std::atomic<bool> inside{false};
  std::atomic<bool> finished{false};
  bool inside_after_remove = true;
  weft::run(
      [&] {
        weft::add_writer(pair.fds[1], [&] {
          if (finished.load()) return;
          inside.store(true);
          // A long call, blocking its worker: the remover is on the other one.
          std::this_thread::sleep_for(std::chrono::milliseconds(30));
          finished.store(true);
          inside.store(false);
        });
        while (!inside.load()) std::this_thread::yield();
        EXPECT_TRUE(weft::remove_writer(pair.fds[1]));
        inside_after_remove = inside.load();
        EXPECT_TRUE(finished.load());
      },
      {.workers = 2});
  EXPECT_FALSE(inside_after_remove);
}

TEST(ReadersWriters, ACallbackMayRemoveItsOwnRegistration) {
  for (unsigned workers : {1u, 2u}) {
    SocketPair pair;
    int calls = 0;
    bool removed = false;
    weft::run(
        [&] {
          weft::Event done;
          weft::add_writer(pair.fds[1], [&] {
            ++calls;
            removed = weft::remove_writer(pair.fds[1]);
            done.set();
          });
          done.wait();
          for (int i = 0; i < 5; ++i) weft::sleep(0);
          EXPECT_FALSE(weft::remove_writer(pair.fds[1]));
        },
        {.workers = workers});
    EXPECT_EQ(calls, 1) << workers << " workers";
    EXPECT_TRUE(removed) << workers << " workers";
  }
}

// On one worker a call in progress while another task runs is suspended inside the callback;
// remove_reader must not wait for it (nothing could resume it), and no call follows.
TEST(ReadersWriters, OnOneWorkerRemoveReaderDoesNotWaitForACallSuspendedInside) {
  SocketPair pair;
  ASSERT_EQ(::send(pair.fds[1], "x", 1, 0), 1);  // readable from now on: nobody reads it
  int calls = 0;
  weft::run(
      [&] {
        weft::Event inside;
        weft::add_reader(pair.fds[0], [&] {
          ++calls;
          inside.set();
          weft::sleep(0.01);
        });
        inside.wait();
        EXPECT_TRUE(weft::remove_reader(pair.fds[0]));
        weft::sleep(0.05);
      },
      {.workers = 1});
  EXPECT_EQ(calls, 1);
}

}  // namespace
