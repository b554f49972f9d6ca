// Echo servers side by side, all driven by the same load generator (benchmarks/net/netload.cpp,
// a process of its own): weft (start_server, StreamReader / StreamWriter, one task per
// connection), weft-sock (the same on sock_accept / sock_recv_into / sock_sendall) and Boost.Asio
// (one io_context run by N threads, C++20 coroutines, one coroutine per connection). Go's and
// Tokio's servers are in benchmarks/go and benchmarks/tokio.
//
//   echo_single  1 connection, 50k round trips of 512 bytes
//   echo         50 connections, 2k round trips each
//   echo_many    1,000 connections, 100 round trips each
//   http         50 connections, 2k sequential keep-alive GETs each (a minimal HTTP/1.1 server:
//                the request's head read through its blank line, a fixed 200 answer with
//                Content-Length)
//   stream       4 connections, each a continuous stream of 25k messages of 512 B (echoed as it
//                comes): server CPU per message
//   idle_conns   10,000 connections idle for 3 s: the load generator reports the server's CPU
//                and RSS over the idle time (extras)
//   echo_syscalls  echo_single's server under strace -c -f: syscalls per round trip (extra)
//   http_wrk, http_wrk_pipelined  the HTTP server driven by wrk, 256 connections, 1 / 16
//                requests in flight on each
//
// The figure is the server's CPU time (user + system of this process) per round trip, in ns:
// the inverse of the "requests per second of server CPU". Every server reads what comes
// (up to 4 KiB) and writes it back, as an echo server written without knowing the message size.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <memory>
#include <thread>

#include "common/workload.hpp"
#include "net/drive.hpp"
#include "net/workloads.hpp"

namespace {

using cmp::Outcome;

constexpr std::size_t kBuffer = 4096;
constexpr int kBacklog = 1024;  // echo_many connects 1,000 at once

// ---- weft -------------------------------------------------------------------------------------

// asyncio's echo: `data = await reader.read(n)`. Between messages it holds no buffer (the bytes
// land in the worker's receive area and leave in `data`), so an idle connection costs its stack
// page and its records only.
void weft_echo(weft::StreamReader reader, weft::StreamWriter writer) {
  for (;;) {
    const std::string data = reader.read(kBuffer);
    if (data.empty()) break;
    writer.write(data);
    writer.drain();
  }
  writer.close();
}

// The runtime's counters per round trip (cmp::with_weft_profile), for the report.
Outcome with_profile(Outcome outcome, const weft::Runtime& runtime) {
  double round_trips = 0;
  for (const auto& [name, value] : outcome.extra) {
    if (name == "round_trips") round_trips = value;
  }
  return cmp::with_weft_profile(std::move(outcome), runtime, round_trips);
}

Outcome serve_weft(const std::string& workload, int threads, weft::ClientConnected handler) {
  weft::Runtime runtime({.workers = static_cast<unsigned>(threads)});
  // No structured binding: clang 14 cannot capture one in a lambda.
  weft::Server server = cmp::weft_run(runtime, [&handler] {
    return weft::start_server(handler, "127.0.0.1", 0, {.backlog = kBacklog});
  });
  const std::uint16_t port =
      cmp::weft_run(runtime, [&server] { return server.sockets().at(0).port; });
  Outcome outcome = cmp::net::drive(port, workload);
  // Every connection has been closed by the client: the handlers end on end-of-file.
  cmp::weft_run(runtime, [&server] {
    server.close();
    server.wait_closed();
    return 0;
  });
  return with_profile(std::move(outcome), runtime);
}

// An HTTP/1.1 server's whole answer to any request: the body is the one bench_netload checks.
const std::string kHttpResponse =
    "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(cmp::net::kHttpBody.size()) +
    "\r\nContent-Type: text/plain\r\n\r\n" + std::string(cmp::net::kHttpBody);

// Keep-alive: one request after the other (a GET: its head ends the request), until the client
// closes. The minimal server every runtime but Go runs (Go's is net/http).
void weft_http(weft::StreamReader reader, weft::StreamWriter writer) {
  try {
    for (;;) {
      reader.readuntil("\r\n\r\n");
      writer.write(kHttpResponse);
      writer.drain();
    }
  } catch (const weft::IncompleteReadError&) {
    // The client closed the connection.
  } catch (const weft::ConnectionError&) {
    // wrk resets its connections when it stops.
  }
  writer.close();
}

// ---- weft, low level: sock_accept, sock_recv_into, sock_sendall ------------------------------
// What the streams cost over the socket calls beneath them (issue 12: streams <= 1.10 x sock_*).

void weft_sock_echo(const std::shared_ptr<weft::Socket>& conn) {
  std::vector<char> buffer(kBuffer);
  for (;;) {
    const std::size_t n = weft::sock_recv_into(*conn, buffer);
    if (n == 0) break;
    weft::sock_sendall(*conn, {buffer.data(), n});
  }
}

Outcome serve_weft_sock(const std::string& workload, int threads) {
  weft::Runtime runtime({.workers = static_cast<unsigned>(threads)});
  auto started = cmp::weft_run(runtime, [] {
    auto listener = std::make_shared<weft::Socket>(AF_INET);
    listener->setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
    listener->bind({"127.0.0.1", 0});
    listener->listen(kBacklog);
    const std::uint16_t port = listener->getsockname().port;
    auto acceptor = weft::create_task([listener] {
      for (;;) {
        auto conn = std::make_shared<weft::Socket>(weft::sock_accept(*listener).first);
        conn->setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
        weft::create_task([conn] { weft_sock_echo(conn); });  // runs on when dropped
      }
    });
    return std::pair{acceptor, port};
  });
  auto& acceptor = started.first;  // not a structured binding: clang 14 cannot capture one
  Outcome outcome = cmp::net::drive(started.second, workload);
  cmp::weft_run(runtime, [&acceptor] {
    acceptor.cancel();
    return 0;
  });
  return with_profile(std::move(outcome), runtime);
}

// ---- Boost.Asio -------------------------------------------------------------------------------

namespace asio = boost::asio;
using asio::ip::tcp;

asio::awaitable<void> asio_echo(tcp::socket socket) {
  std::vector<char> buffer(kBuffer);
  boost::system::error_code error;
  for (;;) {
    const std::size_t n = co_await socket.async_read_some(
        asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, error));
    if (error) break;  // end-of-file included
    co_await asio::async_write(socket, asio::buffer(buffer.data(), n),
                               asio::redirect_error(asio::use_awaitable, error));
    if (error) break;
  }
}

asio::awaitable<void> asio_http(tcp::socket socket) {
  std::string inbox;
  boost::system::error_code error;
  for (;;) {
    const std::size_t n =
        co_await asio::async_read_until(socket, asio::dynamic_buffer(inbox), "\r\n\r\n",
                                        asio::redirect_error(asio::use_awaitable, error));
    if (error) break;
    inbox.erase(0, n);
    co_await asio::async_write(socket, asio::buffer(kHttpResponse),
                               asio::redirect_error(asio::use_awaitable, error));
    if (error) break;
  }
}

using AsioHandler = asio::awaitable<void> (*)(tcp::socket);

asio::awaitable<void> asio_accept(tcp::acceptor& acceptor, AsioHandler handler) {
  boost::system::error_code error;
  for (;;) {
    tcp::socket socket =
        co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, error));
    if (error) break;  // the acceptor was closed
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(acceptor.get_executor(), handler(std::move(socket)), asio::detached);
  }
}

Outcome serve_asio(const std::string& workload, int threads, AsioHandler handler) {
  asio::io_context context(threads);
  tcp::acceptor acceptor(context);
  const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), 0);
  acceptor.open(endpoint.protocol());
  acceptor.set_option(tcp::acceptor::reuse_address(true));
  acceptor.bind(endpoint);
  acceptor.listen(kBacklog);
  const auto port = acceptor.local_endpoint().port();
  asio::co_spawn(context, asio_accept(acceptor, handler), asio::detached);
  std::vector<std::thread> workers;
  for (int i = 0; i < threads; ++i) workers.emplace_back([&context] { context.run(); });
  Outcome outcome = cmp::net::drive(port, workload);
  context.stop();
  for (auto& w : workers) w.join();
  return outcome;
}

void register_all() {
  for (const auto& load : cmp::net::kEchoLoads) {
    const std::string name(load.name);
    const bool http = load.protocol == cmp::net::Protocol::http;
    const std::string unit(load.unit);
    const weft::ClientConnected weft_handler = http ? weft_http : weft_echo;
    const AsioHandler asio_handler = http ? asio_http : asio_echo;
    for (int threads : cmp::worker_counts()) {
      cmp::add(name, "weft", threads, unit,
               [=] { return serve_weft(name, threads, weft_handler); });
      if (!http) {
        cmp::add(name, "weft-sock", threads, unit, [=] { return serve_weft_sock(name, threads); });
      }
      cmp::add(name, "asio", threads, unit,
               [=] { return serve_asio(name, threads, asio_handler); });
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  // idle_conns holds 10,000 connections: the soft descriptor limit up to the hard one.
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  register_all();
  return cmp::run_main(argc, argv);
}
