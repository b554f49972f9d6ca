// asyncio's Server: listening sockets, an accept task per socket while serving, a task per
// connection running the callback, and the count of open connections wait_closed() waits for.
#include "weft/server.hpp"

#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mutex>
#include <optional>
#include <string>

#include "net/resolve.hpp"
#include "net/stream_state.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/sockets.hpp"
#include "weft/task.hpp"

namespace weft::detail {

struct ServerState : std::enable_shared_from_this<ServerState> {
  ClientConnected callback;
  ServerOptions options;
  std::vector<SocketAddress> addresses;  // set before sharing
  std::string unix_path;                 // unlinked on close (3.13's cleanup_socket)...
  dev_t unix_device = 0;                 // ...if it is still the socket we bound
  ino_t unix_inode = 0;

  std::mutex mutex;
  std::vector<std::shared_ptr<Socket>> listeners;  // guarded: not yet handed to an accept task
  std::vector<Task<void>> accepters;               // guarded
  std::size_t accepters_running = 0;               // guarded
  std::size_t active = 0;                          // guarded: connections not yet closed
  std::vector<std::weak_ptr<Connection>> clients;  // guarded
  std::vector<Future<void>> closed_waiters;        // guarded
  std::optional<Future<void>> serving_forever;     // guarded
  bool serving = false;                            // guarded
  bool closed = false;                             // guarded

  void wake_if_done(std::unique_lock<std::mutex>& lock) {
    if (!closed || active != 0 || accepters_running != 0) return;
    std::vector<Future<void>> waiters;
    waiters.swap(closed_waiters);
    lock.unlock();
    for (auto& waiter : waiters) {
      if (!waiter.done()) waiter.set_result();
    }
  }

  void connection_closed() {
    std::unique_lock lock(mutex);
    --active;
    wake_if_done(lock);
  }
};

namespace {

void report(const char* message, std::exception_ptr error) {
  get_running_loop().call_exception_handler(ExceptionContext{.message = message,
                                                             .exception = std::move(error),
                                                             .future = {},
                                                             .task = {},
                                                             .handle = {},
                                                             .source_traceback = {},
                                                             .context = nullptr});
}

void run_client(ClientConnected callback, StreamReader reader,
                std::shared_ptr<Connection> connection) {
  // The handler's StreamWriter is the only one, so that dropping it unclosed is noticed (asyncio's
  // StreamWriter.__del__); we keep the transport, as asyncio's protocol does, to close it when
  // the handler is cancelled or fails (the done callback on the client task).
  try {
    callback(std::move(reader), StreamWriter(connection));
  } catch (const CancelledError&) {
    connection->close();
    throw;
  } catch (...) {
    report("Unhandled exception in client_connected_cb", std::current_exception());
    connection->close();
  }
}

// An accept task's hold on its listening socket and on the server's count of them. Released
// with the task's arguments, so also when the task is cancelled before its first step (close()
// right after start_serving) and its body never runs.
struct Accepting {
  std::shared_ptr<ServerState> state;
  std::shared_ptr<Socket> listener;
  ~Accepting() {
    listener->close();
    std::unique_lock lock(state->mutex);
    --state->accepters_running;
    state->wake_if_done(lock);
  }
};

void accept_loop(std::shared_ptr<Accepting> accepting) {
  const std::shared_ptr<ServerState>& state = accepting->state;
  Socket* listener = accepting->listener.get();
  for (;;) {
    std::pair<Socket, SocketAddress> accepted;
    try {
      accepted = sock_accept(*listener);
    } catch (const OSError&) {
      {
        std::lock_guard hold(state->mutex);
        if (state->closed) return;
      }
      // EMFILE and friends: asyncio logs and retries a little later.
      report("socket.accept() out of system resource", std::current_exception());
      weft::sleep(0.1);
      continue;
    }
    auto connection = std::make_shared<Connection>(std::move(accepted.first));
    connection->on_closed = [weak = std::weak_ptr<ServerState>(state)] {
      if (auto server = weak.lock()) server->connection_closed();
    };
    {
      std::lock_guard hold(state->mutex);
      ++state->active;
      state->clients.push_back(connection);
    }
    auto reader = std::make_shared<ReaderState>(state->options.limit);
    reader->source = connection;
    connection->reader = reader;
    create_task(
        coro(run_client, state->callback, StreamReader(std::move(reader)), std::move(connection)));
  }
}

}  // namespace
}  // namespace weft::detail

namespace weft {

void Server::start_serving() {
  std::vector<std::shared_ptr<Socket>> listeners;
  {
    std::lock_guard hold(state_->mutex);
    if (state_->serving || state_->closed) return;
    state_->serving = true;
    listeners.swap(state_->listeners);
    state_->accepters_running += listeners.size();
  }
  std::vector<Task<void>> tasks;
  for (auto& listener : listeners) {
    listener->listen(state_->options.backlog);
    tasks.push_back(create_task(
        coro(detail::accept_loop,
             std::shared_ptr<detail::Accepting>(new detail::Accepting{state_, listener}))));
  }
  std::lock_guard hold(state_->mutex);
  for (auto& task : tasks) state_->accepters.push_back(std::move(task));
}

bool Server::is_serving() const {
  std::lock_guard hold(state_->mutex);
  return state_->serving;
}

std::vector<SocketAddress> Server::sockets() const {
  std::lock_guard hold(state_->mutex);
  if (state_->closed) return {};
  return state_->addresses;
}

void Server::close() {
  std::vector<Task<void>> accepters;
  std::vector<std::shared_ptr<Socket>> idle;
  std::optional<Future<void>> forever;
  {
    std::unique_lock lock(state_->mutex);
    if (state_->closed) return;
    state_->closed = true;
    state_->serving = false;
    accepters.swap(state_->accepters);
    idle.swap(state_->listeners);
    forever = state_->serving_forever;
  }
  for (auto& task : accepters) task.cancel();  // each closes its socket as it ends
  for (auto& listener : idle) listener->close();
  if (!state_->unix_path.empty()) {
    // Only if the file is still ours: someone may have replaced it (3.13).
    struct stat info {};
    if (::stat(state_->unix_path.c_str(), &info) == 0 && info.st_dev == state_->unix_device &&
        info.st_ino == state_->unix_inode) {
      ::unlink(state_->unix_path.c_str());
    }
  }
  if (forever && !forever->done()) forever->cancel();
  std::unique_lock lock(state_->mutex);
  state_->wake_if_done(lock);
}

void Server::wait_closed() {
  Future<void> done;
  {
    std::lock_guard hold(state_->mutex);
    if (state_->closed && state_->active == 0 && state_->accepters_running == 0) return;
    state_->closed_waiters.push_back(done);
  }
  done.await();
}

void Server::serve_forever() {
  Future<void> forever;
  {
    std::lock_guard hold(state_->mutex);
    if (state_->serving_forever) {
      throw RuntimeError("server is already being awaited on serve_forever()");
    }
    if (state_->closed) throw RuntimeError("Server is closed");
    state_->serving_forever = forever;
  }
  start_serving();
  try {
    forever.await();
  } catch (const CancelledError&) {
    {
      std::lock_guard hold(state_->mutex);
      state_->serving_forever.reset();
    }
    close();
    wait_closed();
    throw;
  }
}

void Server::close_clients() {
  std::vector<std::shared_ptr<detail::Connection>> clients;
  {
    std::lock_guard hold(state_->mutex);
    for (auto& weak : state_->clients) {
      if (auto client = weak.lock()) clients.push_back(std::move(client));
    }
  }
  for (auto& client : clients) client->close();
}

void Server::abort_clients() {
  std::vector<std::shared_ptr<detail::Connection>> clients;
  {
    std::lock_guard hold(state_->mutex);
    for (auto& weak : state_->clients) {
      if (auto client = weak.lock()) clients.push_back(std::move(client));
    }
  }
  for (auto& client : clients) client->abort();
}

namespace {

Server make_server(std::shared_ptr<detail::ServerState> state, bool start) {
  Server server(std::move(state));
  if (start) server.start_serving();
  return server;
}

}  // namespace

Server start_server(ClientConnected client_connected_cb, const std::string& host,
                    std::uint16_t port, ServerOptions options) {
  auto state = std::make_shared<detail::ServerState>();
  state->callback = std::move(client_connected_cb);
  state->options = options;
  for (const auto& candidate : net::resolve(SocketAddress(host, port), true)) {
    auto sock = std::make_shared<Socket>(candidate.family);
    if (options.reuse_address) sock->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    if (options.reuse_port) sock->setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
    // As asyncio: an IPv6 socket listens on IPv6 only, beside the IPv4 one.
    if (candidate.family == AF_INET6) sock->setsockopt(IPPROTO_IPV6, IPV6_V6ONLY, 1);
    SocketAddress address = net::from_raw(candidate.address.get(), candidate.address.length);
    try {
      sock->bind(address);
    } catch (const OSError& e) {
      throw OSError(e.error_number(), "error while attempting to bind on address " +
                                          address.repr() + ": " + e.strerror());
    }
    state->addresses.push_back(sock->getsockname());
    state->listeners.push_back(std::move(sock));
  }
  return make_server(std::move(state), options.start_serving);
}

namespace {

// cleanup_socket: close() removes the file only if it is still the one bound now.
void remember_unix_file(detail::ServerState& state, const std::string& path) {
  struct stat info {};
  const bool abstract = !path.empty() && path[0] == '\0';  // no file to remove
  if (state.options.cleanup_socket && !path.empty() && !abstract &&
      ::stat(path.c_str(), &info) == 0) {
    state.unix_path = path;
    state.unix_device = info.st_dev;
    state.unix_inode = info.st_ino;
  }
}

}  // namespace

Server start_unix_server(ClientConnected client_connected_cb, const std::string& path,
                         ServerOptions options) {
  auto state = std::make_shared<detail::ServerState>();
  state->callback = std::move(client_connected_cb);
  state->options = options;
  // A stale socket file left by an earlier server is removed, as asyncio does.
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0 && S_ISSOCK(info.st_mode)) ::unlink(path.c_str());
  auto sock = std::make_shared<Socket>(AF_UNIX);
  sock->bind(SocketAddress::unix_path(path));
  remember_unix_file(*state, path);
  state->addresses.push_back(SocketAddress::unix_path(path));
  state->listeners.push_back(std::move(sock));
  return make_server(std::move(state), options.start_serving);
}

Server start_server(ClientConnected client_connected_cb, Socket sock, ServerOptions options) {
  if (sock.type() != SOCK_STREAM) {
    throw ValueError("A Stream Socket was expected, got " + sock.repr() +
                     ": a server listens on a bound SOCK_STREAM socket");
  }
  auto state = std::make_shared<detail::ServerState>();
  state->callback = std::move(client_connected_cb);
  state->options = options;
  SocketAddress address = sock.getsockname();
  if (sock.family() == AF_UNIX) remember_unix_file(*state, address.path);
  state->addresses.push_back(std::move(address));
  state->listeners.push_back(std::make_shared<Socket>(std::move(sock)));
  return make_server(std::move(state), options.start_serving);
}

}  // namespace weft
