// asyncio's streams: StreamReader / StreamWriter over a TCP or Unix connection.
//
//   auto [reader, writer] = weft::open_connection("127.0.0.1", 8888);  # asyncio.open_connection
//   writer.write("Hello World!\n");
//   writer.drain();                                   # await writer.drain()
//   std::string line = reader.readline();             # await reader.readline()
//   writer.close();
//   writer.wait_closed();
//
// A read pulls from the socket itself when its buffer cannot answer (no reading task in between),
// so a cancelled read loses nothing: what arrived stays buffered for the next. Only one task may
// wait for data at a time (RuntimeError, as asyncio's). write() sends at once what the socket
// takes and buffers the rest, which a task of the connection's own flushes; drain() waits while
// more than the high-water mark (64 KiB) is buffered, until the low one (16 KiB). Dropping the
// last copy of a StreamWriter whose connection is still open closes it with a ResourceWarning,
// as asyncio's StreamWriter.__del__ does: close() what you open.
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "weft/errors.hpp"
#include "weft/socket.hpp"

namespace weft {

namespace detail {
struct ReaderState;
struct Connection;
}  // namespace detail

inline constexpr std::size_t default_stream_limit = 64 * 1024;  // asyncio's _DEFAULT_LIMIT

class StreamReader {
 public:
  // A reader fed by hand (feed_data / feed_eof), as asyncio.StreamReader(limit=...).
  explicit StreamReader(std::size_t limit = default_stream_limit);
  explicit StreamReader(std::shared_ptr<detail::ReaderState> state) : state_(std::move(state)) {}

  std::string read(long n = -1);  // up to n bytes; -1: until EOF
  std::string readline();         // through "\n"; the rest at EOF; ValueError past the limit
  std::string readexactly(std::size_t n);  // IncompleteReadError at EOF before n
  // Through the first separator found (the one ending first, for several); LimitOverrunError
  // past the limit, IncompleteReadError at EOF.
  std::string readuntil(std::string_view separator = "\n");
  std::string readuntil(const std::vector<std::string>& separators);
  std::size_t read_into(std::span<char> buffer);  // zero-copy read(len(buffer))
  void readexactly_into(std::span<char> buffer);
  bool at_eof() const;
  std::exception_ptr exception() const;
  void set_exception(std::exception_ptr error);
  void feed_data(std::string_view data);
  void feed_eof();
  std::string repr() const;

  // `async for line in reader` (asyncio's __anext__: readline() until it returns b""):
  //   for (const std::string& line : reader) handle(line);
  // begin() and each ++ read one line, so they suspend as readline() does.
  class LineIterator {
   public:
    using value_type = std::string;
    using difference_type = std::ptrdiff_t;
    LineIterator() = default;
    explicit LineIterator(StreamReader* reader) : reader_(reader) { ++*this; }
    const std::string& operator*() const noexcept { return line_; }
    const std::string* operator->() const noexcept { return &line_; }
    LineIterator& operator++() {
      line_ = reader_->readline();
      if (line_.empty()) reader_ = nullptr;  // EOF: StopAsyncIteration
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const LineIterator& it, std::default_sentinel_t) noexcept {
      return it.reader_ == nullptr;
    }

   private:
    StreamReader* reader_ = nullptr;
    std::string line_;
  };
  LineIterator begin() { return LineIterator(this); }
  std::default_sentinel_t end() const noexcept { return {}; }

 private:
  std::shared_ptr<detail::ReaderState> state_;
};

class StreamWriter {
 public:
  explicit StreamWriter(std::shared_ptr<detail::Connection> connection);
  void write(std::string_view data);
  void writelines(const std::vector<std::string>& lines);
  void drain();
  void close();
  // transport.abort(): closes at once, dropping what is buffered (the peer sees a reset).
  void abort();
  bool is_closing() const;
  void wait_closed();
  void write_eof();
  bool can_write_eof() const noexcept { return true; }
  // "peername" / "sockname": a SocketAddress; "socket": the fd (int); empty std::any otherwise.
  std::any get_extra_info(const std::string& name) const;
  // "<StreamWriter transport=<Transport fd=7 write=<idle, bufsize=0>>>"
  std::string repr() const;

 private:
  std::shared_ptr<detail::Connection> connection_;
};

struct StreamOptions {
  std::size_t limit = default_stream_limit;
};

std::pair<StreamReader, StreamWriter> open_connection(const std::string& host, std::uint16_t port,
                                                      StreamOptions options = {});
std::pair<StreamReader, StreamWriter> open_unix_connection(const std::string& path,
                                                           StreamOptions options = {});
// Streams over a connected socket of yours (asyncio's open_connection(sock=...)).
std::pair<StreamReader, StreamWriter> open_connection(Socket sock, StreamOptions options = {});

}  // namespace weft
