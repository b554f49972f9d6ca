// asyncio's servers: start_server(client_connected_cb, host, port) -> Server.
//
//   auto server = weft::start_server(                  # await asyncio.start_server(handle, ...)
//       [](weft::StreamReader reader, weft::StreamWriter writer) {
//         writer.write(reader.readline());
//         writer.drain();
//         writer.close();
//       },
//       "127.0.0.1", 8888);
//   server.serve_forever();                             # async with server: ...serve_forever()
//
// Each connection's callback runs as a task of its own (idle workers steal them); what it throws
// goes to the exception handler ("Unhandled exception in client_connected_cb") and its
// connection is closed. Destroying the last handle closes the server (not its connections).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "weft/streams.hpp"

namespace weft {

namespace detail {
struct ServerState;
}

using ClientConnected = std::function<void(StreamReader, StreamWriter)>;

struct ServerOptions {
  std::size_t limit = default_stream_limit;  // each connection's StreamReader limit
  int backlog = 100;
  bool reuse_address = true;   // SO_REUSEADDR, asyncio's default on POSIX
  bool reuse_port = false;     // SO_REUSEPORT
  bool start_serving = true;   // accept at once; otherwise on start_serving / serve_forever
  bool cleanup_socket = true;  // Unix: close() removes the socket file if it is still ours
};

class Server {
 public:
  explicit Server(std::shared_ptr<detail::ServerState> state) : state_(std::move(state)) {}

  // Stops listening; the connections go on (close_clients / abort_clients end them).
  void close();
  // Returns once the server is closed and every connection has been closed.
  void wait_closed();
  // Serves until cancelled; then closes and waits as wait_closed() does, and re-raises.
  void serve_forever();
  void start_serving();
  bool is_serving() const;
  // The listening sockets' addresses (asyncio's [s.getsockname() for s in server.sockets]);
  // none once closed.
  std::vector<SocketAddress> sockets() const;
  void close_clients();
  void abort_clients();

 private:
  std::shared_ptr<detail::ServerState> state_;
};

// Listens on every address of `host` (IPv4 and IPv6; "" = all interfaces), port 0 = any.
Server start_server(ClientConnected client_connected_cb, const std::string& host,
                    std::uint16_t port, ServerOptions options = {});
Server start_unix_server(ClientConnected client_connected_cb, const std::string& path,
                         ServerOptions options = {});
// Serves on a bound socket of yours, TCP or Unix (asyncio's start_server(sock=...) and
// start_unix_server(sock=...)): systemd's socket activation, a socket set up by hand. It listens
// with options.backlog; reuse_address / reuse_port are yours to set before binding.
Server start_server(ClientConnected client_connected_cb, Socket sock, ServerOptions options = {});

}  // namespace weft
