// CPython's Lib/test/test_asyncio/test_server.py, ported: BaseStartServer (serve_forever ended by
// cancelling its task from a connection's callback, TCP and Unix), TestServer2 (wait_closed,
// close_clients, abort_clients) and UnixServerCleanupTests (the socket file's removal). The
// clients of the *_1 tests are blocking sockets on threads of their own, as CPython's. Each runs
// on 1 and 2 workers.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <any>
#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include "../net_test_support.hpp"

namespace {

class BaseStartServer : public ::testing::TestWithParam<unsigned> {};
class TestServer2 : public ::testing::TestWithParam<unsigned> {};
class UnixServerCleanupTests : public ::testing::TestWithParam<unsigned> {};

weft::RunOptions on(unsigned workers) {
  return weft::RunOptions{.workers = workers};
}

const std::string HELLO_MSG = std::string(1024 * 5, '1') + "\n";

// A blocking client: connects, sends HELLO_MSG, reads one byte.
void blocking_client(int fd, const sockaddr* address, socklen_t length) {
  if (::connect(fd, address, length) != 0) return;
  ::send(fd, HELLO_MSG.data(), HELLO_MSG.size(), MSG_NOSIGNAL);
  char c;
  ::recv(fd, &c, 1, 0);
  ::close(fd);
}

std::string unix_socket_path(const char* tag, unsigned workers) {
  return "/tmp/weft-" + std::string(tag) + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(workers) + ".sock";
}

TEST_P(BaseStartServer, test_start_server_1) {
  std::atomic<bool> serving{false};
  std::thread client_thread;
  weft::run(
      [&] {
        std::optional<weft::Task<void>> main_task;
        std::atomic<bool> main_set{false};
        auto serve = [&](weft::StreamReader reader, weft::StreamWriter writer) {
          reader.readline();
          while (!main_set.load()) weft::sleep(0.0);
          main_task->cancel();
          writer.write("1");
          writer.close();
          writer.wait_closed();
        };
        auto srv = weft::start_server(serve, "127.0.0.1", 0, {.start_serving = false});
        EXPECT_FALSE(srv.is_serving());
        auto addr = srv.sockets().at(0);
        auto task = weft::create_task(weft::coro([&] { srv.serve_forever(); }));
        main_task = task;
        main_set.store(true);
        client_thread = std::thread([&serving, addr] {
          while (!serving.load()) std::this_thread::yield();
          sockaddr_in in{};
          in.sin_family = AF_INET;
          in.sin_port = htons(addr.port);
          in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
          blocking_client(::socket(AF_INET, SOCK_STREAM, 0), reinterpret_cast<sockaddr*>(&in),
                          sizeof in);
        });
        while (!srv.is_serving()) weft::sleep(0.0);
        serving.store(true);
        EXPECT_THROW(weft::await(task), weft::CancelledError);
        EXPECT_TRUE(srv.sockets().empty());
        EXPECT_FALSE(srv.is_serving());
        try {
          srv.serve_forever();
          ADD_FAILURE() << "serve_forever on a closed server";
        } catch (const weft::RuntimeError& e) {
          EXPECT_NE(std::string(e.what()).find("is closed"), std::string::npos);
        }
      },
      on(GetParam()));
  client_thread.join();
}

TEST_P(BaseStartServer, test_start_unix_server_1) {
  const std::string addr = unix_socket_path("start-unix-1", GetParam());
  std::atomic<bool> started{false};
  std::thread client_thread([&] {
    while (!started.load()) std::this_thread::yield();
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    std::strncpy(un.sun_path, addr.c_str(), sizeof un.sun_path - 1);
    blocking_client(::socket(AF_UNIX, SOCK_STREAM, 0), reinterpret_cast<sockaddr*>(&un), sizeof un);
  });
  weft::run(
      [&] {
        std::optional<weft::Task<void>> main_task;
        std::atomic<bool> main_set{false};
        auto serve = [&](weft::StreamReader reader, weft::StreamWriter writer) {
          reader.readline();
          while (!main_set.load()) weft::sleep(0.0);
          main_task->cancel();
          writer.write("1");
          writer.close();
          writer.wait_closed();
        };
        auto srv = weft::start_unix_server(serve, addr, {.start_serving = false});
        auto task = weft::create_task(weft::coro([&] {
          EXPECT_FALSE(srv.is_serving());
          srv.start_serving();
          EXPECT_TRUE(srv.is_serving());
          started.store(true);
          srv.serve_forever();
        }));
        main_task = task;
        main_set.store(true);
        EXPECT_THROW(weft::await(task), weft::CancelledError);
        EXPECT_TRUE(srv.sockets().empty());
        EXPECT_FALSE(srv.is_serving());
        EXPECT_THROW(srv.serve_forever(), weft::RuntimeError);
      },
      on(GetParam()));
  client_thread.join();
}

// The server of TestServer2: reads to EOF, then closes.
void serve_until_eof(weft::StreamReader rd, weft::StreamWriter wr) {
  struct Close {
    weft::StreamWriter& wr;
    ~Close() { wr.close(); }
  } close{wr};
  rd.read();
}

// serve_until_eof, telling `accepted` first: CPython's tests know from one loop's order that the
// server has the connection; on several workers the handler says so.
weft::ClientConnected serve_until_eof_telling(weft::Event& accepted) {
  return [&accepted](weft::StreamReader rd, weft::StreamWriter wr) {
    accepted.set();
    serve_until_eof(std::move(rd), std::move(wr));
  };
}

TEST_P(TestServer2, test_wait_closed_basic) {
  weft::run(
      [&] {
        weft::Event accepted;
        auto srv = weft::start_server(serve_until_eof_telling(accepted), "127.0.0.1", 0);
        // active count = 0, not closed: should block
        auto task1 = weft::create_task(weft::coro([&] { srv.wait_closed(); }));
        weft::sleep(0.0);
        EXPECT_FALSE(task1.done());
        // active count != 0, not closed: should block. (Closed before the server accepted it,
        // the connection would be dropped with the listening socket, and the count stay 0.)
        auto addr = srv.sockets().at(0);
        auto [rd, wr] = weft::open_connection(addr.host, addr.port);
        accepted.wait();
        auto task2 = weft::create_task(weft::coro([&] { srv.wait_closed(); }));
        weft::sleep(0.0);
        EXPECT_FALSE(task1.done());
        EXPECT_FALSE(task2.done());
        srv.close();
        weft::sleep(0.0);
        // active count != 0, closed: should block (the client holds its connection open)
        auto task3 = weft::create_task(weft::coro([&] { srv.wait_closed(); }));
        weft::sleep(0.0);
        EXPECT_FALSE(task3.done());
        wr.close();
        wr.wait_closed();
        // active count == 0, closed: should unblock
        weft::await(task1);
        weft::await(task2);
        weft::await(task3);
        srv.wait_closed();  // returns at once
      },
      on(GetParam()));
}

TEST_P(TestServer2, test_wait_closed_race) {
  weft::run(
      [&] {
        auto srv = weft::start_server(serve_until_eof, "127.0.0.1", 0);
        auto task = weft::create_task(weft::coro([&] { srv.wait_closed(); }));
        weft::sleep(0.0);
        EXPECT_FALSE(task.done());
        auto addr = srv.sockets().at(0);
        auto [rd, wr] = weft::open_connection(addr.host, addr.port);
        auto& loop = weft::get_running_loop();
        loop.call_soon([&] { srv.close(); });
        loop.call_soon([w = wr]() mutable { w.close(); });
        srv.wait_closed();
        weft::await(task);
      },
      on(GetParam()));
}

TEST_P(TestServer2, test_close_clients) {
  weft::run(
      [&] {
        weft::Event connected;
        auto srv = weft::start_server(serve_until_eof_telling(connected), "127.0.0.1", 0);
        auto addr = srv.sockets().at(0);
        auto [rd, wr] = weft::open_connection(addr.host, addr.port);
        auto task = weft::create_task(weft::coro([&] { srv.wait_closed(); }));
        weft::sleep(0.0);
        EXPECT_FALSE(task.done());
        connected.wait();
        srv.close();
        srv.close_clients();
        EXPECT_EQ(rd.read(), "");  // the server closed our connection
        weft::await(task);         // every connection closed: wait_closed returns
        wr.close();
      },
      on(GetParam()));
}

TEST_P(TestServer2, test_abort_clients) {
  weft::run(
      [&] {
        weft::Future<weft::StreamWriter> fut;
        auto serve = [&](weft::StreamReader, weft::StreamWriter wr) {
          fut.set_result(wr);
          wr.wait_closed();
        };
        auto srv = weft::start_server(serve, "127.0.0.1", 0);
        auto addr = srv.sockets().at(0);
        auto [c_rd, c_wr] = weft::open_connection(addr.host, addr.port, {.limit = 4096});
        weft::StreamWriter s_wr = fut.await();
        // The server's writer waits on a client that does not read. Small socket buffers on
        // both ends: with the kernel's own (tcp_rmem may grow to 32 MiB) the 4 MiB below could
        // all leave before the drainer is looked at, and it would be done.
        for (const auto* end : {&c_wr, &s_wr}) {
          const int fd = std::any_cast<int>(end->get_extra_info("socket"));
          const int small = 4096;
          ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
          ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
        }
        std::string chunk(1 << 16, 'a');
        for (int i = 0; i < 64; ++i) s_wr.write(chunk);
        auto drainer = weft::create_task(weft::coro([w = s_wr]() mutable { w.drain(); }));
        weft::sleep(0.0);
        EXPECT_FALSE(drainer.done());
        srv.close();
        srv.abort_clients();
        s_wr.wait_closed();
        // As asyncio's: a drain woken by connection_lost(None) returns (_drain_helper); one that
        // starts after the abort (on 2 workers it may) finds the connection lost.
        try {
          weft::await(drainer);
        } catch (const weft::ConnectionResetError& e) {
          EXPECT_EQ(std::string(e.what()), "Connection lost");
        }
        srv.wait_closed();
        // The client sees the reset (or the end, if it came first).
        try {
          while (!c_rd.read(1 << 16).empty()) {
          }
        } catch (const weft::ConnectionResetError&) {
        }
        c_wr.close();
      },
      on(GetParam()));
}

TEST_P(TestServer2, CloseBeforeTheAcceptTaskRanStillCompletesWaitClosed) {
  // The accept task is cancelled before its first step: its body never runs, and its hold on
  // the listening socket must still be released (it lives in the task's arguments).
  weft::run(
      [&] {
        auto srv = weft::start_server(serve_until_eof, "127.0.0.1", 0);
        auto addr = srv.sockets().at(0);
        srv.close();
        srv.wait_closed();
        weft::Socket client(AF_INET);
        EXPECT_THROW(weft::sock_connect(client, addr), weft::ConnectionRefusedError);
      },
      on(GetParam()));
}

TEST_P(UnixServerCleanupTests, test_unix_server_addr_cleanup) {
  const std::string addr = unix_socket_path("cleanup", GetParam());
  weft::run(
      [&] {
        auto srv = weft::start_unix_server([](weft::StreamReader, weft::StreamWriter) {}, addr);
        srv.close();
        EXPECT_NE(::access(addr.c_str(), F_OK), 0);
      },
      on(GetParam()));
}

TEST_P(UnixServerCleanupTests, test_unix_server_cleanup_replaced) {
  const std::string addr = unix_socket_path("replaced", GetParam());
  weft::run(
      [&] {
        auto srv = weft::start_unix_server([](weft::StreamReader, weft::StreamWriter) {}, addr);
        ::unlink(addr.c_str());
        weft::Socket sock(AF_UNIX);
        sock.bind(weft::SocketAddress::unix_path(addr));
        srv.close();
        EXPECT_EQ(::access(addr.c_str(), F_OK), 0);
      },
      on(GetParam()));
  ::unlink(addr.c_str());
}

TEST_P(UnixServerCleanupTests, test_unix_server_cleanup_prevented) {
  const std::string addr = unix_socket_path("prevented", GetParam());
  weft::run(
      [&] {
        auto srv = weft::start_unix_server([](weft::StreamReader, weft::StreamWriter) {}, addr,
                                           {.cleanup_socket = false});
        srv.close();
        EXPECT_EQ(::access(addr.c_str(), F_OK), 0);
      },
      on(GetParam()));
  ::unlink(addr.c_str());
}

INSTANTIATE_TEST_SUITE_P(Workers, BaseStartServer,
                         ::testing::ValuesIn(weft_net_test::port_workers()));
INSTANTIATE_TEST_SUITE_P(Workers, TestServer2, ::testing::ValuesIn(weft_net_test::port_workers()));
INSTANTIATE_TEST_SUITE_P(Workers, UnixServerCleanupTests,
                         ::testing::ValuesIn(weft_net_test::port_workers()));

}  // namespace
