// asyncio.StreamWriter, and open_connection / open_unix_connection.
#include <sys/socket.h>

#include <string>

#include "net/resolve.hpp"
#include "net/stream_state.hpp"
#include "weft/sockets.hpp"
#include "weft/streams.hpp"

namespace weft {

namespace {

// The handle every StreamWriter copy shares: a control block of its own over the connection,
// whose deleter runs when the last copy goes (asyncio's StreamWriter.__del__) and then lets go of
// the real reference. The connection's flusher and the server hold the real one, so they do not
// keep a dropped writer "alive".
std::shared_ptr<detail::Connection> writer_handle(std::shared_ptr<detail::Connection> connection) {
  detail::Connection* raw = connection.get();
  return std::shared_ptr<detail::Connection>(
      raw, [real = std::move(connection)](detail::Connection* c) mutable {
        c->last_writer_gone();
        real.reset();
      });
}

}  // namespace

StreamWriter::StreamWriter(std::shared_ptr<detail::Connection> connection)
    : connection_(writer_handle(std::move(connection))) {}

std::string StreamWriter::repr() const {
  return "<StreamWriter transport=" + connection_->repr() + ">";
}

void StreamWriter::write(std::string_view data) {
  connection_->write(data);
}

void StreamWriter::writelines(const std::vector<std::string>& lines) {
  // One send for all of them, as asyncio's transport.writelines joins them.
  std::string joined;
  for (const auto& line : lines) joined += line;
  connection_->write(joined);
}

void StreamWriter::drain() {
  // asyncio's drain() raises the reader's exception first (a connection lost with an error).
  std::shared_ptr<detail::ReaderState> reader = connection_->reader.lock();
  connection_->drain(reader.get());
}
void StreamWriter::close() {
  connection_->close();
}
void StreamWriter::abort() {
  connection_->abort();
}
bool StreamWriter::is_closing() const {
  return connection_->is_closing();
}
void StreamWriter::wait_closed() {
  connection_->wait_closed();
}
void StreamWriter::write_eof() {
  connection_->write_eof();
}
std::any StreamWriter::get_extra_info(const std::string& name) const {
  return connection_->extra_info(name);
}

std::pair<StreamReader, StreamWriter> open_connection(Socket sock, StreamOptions options) {
  if (sock.type() != SOCK_STREAM) {
    throw ValueError("A Stream Socket was expected, got " + sock.repr() +
                     ": open_connection(sock) streams over a connected SOCK_STREAM socket");
  }
  auto connection = std::make_shared<detail::Connection>(std::move(sock));
  auto reader = std::make_shared<detail::ReaderState>(options.limit);
  reader->source = connection;
  connection->reader = reader;
  return {StreamReader(std::move(reader)), StreamWriter(std::move(connection))};
}

std::pair<StreamReader, StreamWriter> open_connection(const std::string& host, std::uint16_t port,
                                                      StreamOptions options) {
  // asyncio's create_connection: every address in turn; the errors of all if none connects.
  auto candidates = net::resolve(SocketAddress(host, port));
  if (candidates.empty()) throw OSError("getaddrinfo() returned empty list");
  std::exception_ptr last;
  std::string messages;
  for (const auto& candidate : candidates) {
    try {
      Socket sock(candidate.family);
      sock_connect(sock, net::from_raw(candidate.address.get(), candidate.address.length));
      return open_connection(std::move(sock), options);
    } catch (const OSError& e) {
      last = std::current_exception();
      messages += (messages.empty() ? "" : ", ") + std::string(e.what());
    }
  }
  if (candidates.size() > 1) throw OSError("Multiple exceptions: " + messages);
  std::rethrow_exception(last);
}

std::pair<StreamReader, StreamWriter> open_unix_connection(const std::string& path,
                                                           StreamOptions options) {
  Socket sock(AF_UNIX);
  sock_connect(sock, SocketAddress::unix_path(path));
  return open_connection(std::move(sock), options);
}

}  // namespace weft
