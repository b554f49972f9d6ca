// Stress: many connections to one echo server exchanging messages, on 1-4 workers, while some
// clients reset their connection mid-message and some reads are cancelled by a timeout. Every
// byte a well-behaved client sends comes back, in order; the misbehaving ones touch no one else.
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <vector>

#include "net_test_support.hpp"

namespace {

class StreamsStress : public ::testing::TestWithParam<unsigned> {};

long scaled(long n) {
  if (weft_test_support::kSanitized) return n / 50 > 0 ? n / 50 : 1;
  if (!weft_test_support::kOptimized) return n / 10 > 0 ? n / 10 : 1;
  return n;
}

TEST_P(StreamsStress, EchoManyConnectionsWhileSomeResetAndSomeReadsAreCancelled) {
  const int connections = static_cast<int>(scaled(1000));
  const int messages = 20;
  std::atomic<long> echoed_bytes{0};
  std::atomic<long> server_errors{0};
  long expected_bytes = 0;
  weft::run(
      [&] {
        auto echo = [&](weft::StreamReader reader, weft::StreamWriter writer) {
          try {
            for (;;) {
              std::string line = reader.readline();
              if (line.empty()) break;
              writer.write(line);
              writer.drain();
            }
          } catch (const weft::ConnectionError&) {
            server_errors.fetch_add(1, std::memory_order_relaxed);  // a client reset: its own
          }
          writer.close();
        };
        // Every client connects before the server's first accept on one worker: a backlog of
        // asyncio's 100 would overflow, and the kernel's SYN retries (1 s, 3 s, 7 s...) made the
        // test's run time vary from 0.5 s to past any timeout under load.
        auto server = weft::start_server(echo, "127.0.0.1", 0, {.backlog = connections});
        const auto addr = server.sockets().at(0);
        std::vector<weft::Task<void>> clients;
        for (int c = 0; c < connections; ++c) {
          const int kind = c % 5;  // 0: resets mid-message, 1: a cancelled read first, else plain
          clients.push_back(weft::create_task(weft::coro([&, c, kind] {
            auto [reader, writer] = weft::open_connection(addr.host, addr.port);
            if (kind == 0) {
              writer.write("half a mess");  // no newline: the server waits for the rest
              writer.drain();
              writer.abort();
              return;
            }
            if (kind == 1) {
              // Nothing was sent: the read times out, and loses nothing that comes later.
              EXPECT_THROW(weft::wait_for(
                               weft::coro([&reader = reader] { return reader.readline(); }), 0.001),
                           weft::TimeoutError);
            }
            for (int m = 0; m < messages; ++m) {
              std::string line = "client " + std::to_string(c) + " message " + std::to_string(m) +
                                 std::string(static_cast<std::size_t>(m * 37 % 200), 'x') + "\n";
              writer.write(line);
              writer.drain();
              std::string back = reader.readline();
              EXPECT_EQ(back, line);
              echoed_bytes.fetch_add(static_cast<long>(back.size()), std::memory_order_relaxed);
            }
            writer.close();
            writer.wait_closed();
          })));
        }
        for (auto& client : clients) weft::await(client);
        server.close();
        server.wait_closed();
      },
      weft::RunOptions{.workers = GetParam()});
  for (int c = 0; c < connections; ++c) {
    if (c % 5 == 0) continue;
    for (int m = 0; m < messages; ++m) {
      expected_bytes += static_cast<long>(
          ("client " + std::to_string(c) + " message " + std::to_string(m)).size() +
          static_cast<std::size_t>(m * 37 % 200) + 1);
    }
  }
  EXPECT_EQ(echoed_bytes.load(), expected_bytes);
}

INSTANTIATE_TEST_SUITE_P(Workers, StreamsStress, ::testing::Values(1u, 2u, 3u, 4u));

}  // namespace
