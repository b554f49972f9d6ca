// StreamReader over a real connection, by read path: read_into takes what is buffered first and
// otherwise receives straight into the caller's span; a bulk transfer read through every method
// in turn arrives whole and in order (the receive area grows from a page to 64 KiB on the way);
// EOF and a reset reach read_into as they reach read. Each runs on 1 and 2 workers.
#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "net_test_support.hpp"

namespace {

class StreamReads : public ::testing::TestWithParam<unsigned> {};

weft::RunOptions on(unsigned workers) {
  return weft::RunOptions{.workers = workers};
}

// The byte at position i of a bulk transfer: not periodic in any power of two.
char pattern(std::size_t i) {
  return static_cast<char>((i * 7 + i / 251) % 251);
}

std::string take_into(weft::StreamReader& reader, std::size_t room) {
  std::string out(room, '\0');
  out.resize(reader.read_into(std::span<char>(out.data(), out.size())));
  return out;
}

TEST_P(StreamReads, ReadIntoTakesWhatIsBufferedBeforeTheSocket) {
  weft::run(
      [] {
        weft::Event more;
        weft::Event done;
        auto handler = [&](weft::StreamReader, weft::StreamWriter writer) {
          writer.write("abcdef");
          writer.drain();
          more.wait();
          writer.write("ghi");
          writer.drain();
          done.wait();
          writer.close();
        };
        auto server = weft::start_server(handler, "127.0.0.1", 0);
        const auto addr = server.sockets().at(0);
        auto [reader, writer] = weft::open_connection(addr.host, addr.port);
        // read(1) with nothing buffered receives everything that came: the rest is buffered.
        EXPECT_EQ(reader.read(1), "a");
        std::string got;
        while (got.size() < 5) got += take_into(reader, 3);  // buffered, then maybe the socket
        EXPECT_EQ(got, "bcdef");
        more.set();
        // Nothing buffered: the bytes land in the span, and nothing is kept back.
        std::string direct;
        while (direct.size() < 3) direct += take_into(reader, 10);
        EXPECT_EQ(direct, "ghi");
        done.set();
        EXPECT_EQ(take_into(reader, 10), "") << "EOF: read_into returns 0";
        EXPECT_TRUE(reader.at_eof());
        writer.close();
        server.close();
        server.wait_closed();
      },
      on(GetParam()));
}

TEST_P(StreamReads, ABulkTransferArrivesWholeAndInOrder) {
  std::size_t total = weft_net_test::kSanitized ? (1u << 20) : (8u << 20);
  weft::run(
      [total] {
        auto handler = [total](weft::StreamReader, weft::StreamWriter writer) {
          std::size_t sent = 0;
          for (std::size_t round = 0; sent < total; ++round) {
            std::size_t size = std::min<std::size_t>(1 + round * 4099 % 200000, total - sent);
            std::string chunk(size, '\0');
            for (std::size_t i = 0; i < size; ++i) chunk[i] = pattern(sent + i);
            writer.write(chunk);
            writer.drain();
            sent += size;
          }
          writer.close();
        };
        auto server = weft::start_server(handler, "127.0.0.1", 0);
        const auto addr = server.sockets().at(0);
        auto [reader, writer] = weft::open_connection(addr.host, addr.port);
        std::size_t received = 0;
        std::size_t first_wrong = total;
        auto check = [&](const std::string& piece) {
          for (std::size_t i = 0; i < piece.size() && first_wrong == total; ++i) {
            if (piece[i] != pattern(received + i)) first_wrong = received + i;
          }
          received += piece.size();
        };
        for (std::size_t step = 0; received < total; ++step) {
          const std::size_t want =
              std::min<std::size_t>(1 + step * 7919 % 100000, total - received);
          switch (step % 4) {
            case 0:
              check(reader.read(static_cast<long>(want)));
              break;
            case 1:
              check(take_into(reader, want));
              break;
            case 2:
              check(reader.readexactly(want));
              break;
            default: {
              std::string exact(want, '\0');
              reader.readexactly_into(std::span<char>(exact.data(), exact.size()));
              check(exact);
            }
          }
        }
        EXPECT_EQ(received, total);
        EXPECT_EQ(first_wrong, total) << "the first byte out of order or wrong";
        EXPECT_EQ(reader.read(), "") << "nothing past the end";
        EXPECT_TRUE(reader.at_eof());
        writer.close();
        server.close();
        server.wait_closed();
      },
      on(GetParam()));
}

TEST_P(StreamReads, ReadIntoRaisesTheResetOfAConnectionWithNothingBuffered) {
  weft::run(
      [] {
        // The reset waits for a byte from the client: a reset before the client's connect is
        // confirmed fails open_connection instead ("Connect call failed", as asyncio's).
        auto handler = [](weft::StreamReader reader, weft::StreamWriter writer) {
          reader.readexactly(1);
          writer.abort();
        };
        auto server = weft::start_server(handler, "127.0.0.1", 0);
        const auto addr = server.sockets().at(0);
        auto [reader, writer] = weft::open_connection(addr.host, addr.port);
        writer.write("x");
        writer.drain();
        std::string room(16, '\0');
        EXPECT_THROW(reader.read_into(std::span<char>(room.data(), room.size())),
                     weft::ConnectionResetError);
        EXPECT_THROW(reader.read_into(std::span<char>(room.data(), room.size())),
                     weft::ConnectionResetError)
            << "the error stays: a second read raises it again";
        writer.close();
        server.close();
        server.wait_closed();
      },
      on(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(Workers, StreamReads, ::testing::ValuesIn(weft_net_test::port_workers()));

}  // namespace
