// asyncio's low-level socket methods (loop.sock_recv, sock_sendall, ...), on the running
// runtime. Each tries the system call first and waits on the reactor only when the socket is not
// ready; cancellation (Task.cancel, wait_for, timeout, TaskGroup) interrupts the wait, never a
// call half done, so a cancelled sock_recv loses no bytes.
//
//   weft::Socket sock(AF_INET);                          # sock = socket.socket();
//   setblocking(False) weft::sock_connect(sock, {"127.0.0.1", port});       # await
//   loop.sock_connect(sock, addr) weft::sock_sendall(sock, "ping");                    # await
//   loop.sock_sendall(sock, b'ping') std::string reply = weft::sock_recv(sock, 1024);     # await
//   loop.sock_recv(sock, 1024)
//
// add_reader / add_writer (loop.add_reader(fd, callback)) plug in C libraries with fds of their
// own: the callback runs on the runtime each time the fd is readable (level, as asyncio's), in
// a task of its own; what it throws goes to the exception handler. Not for a weft::Socket's fd.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "weft/socket.hpp"

namespace weft {

// Up to `nbytes`; "" at end of stream.
std::string sock_recv(Socket& sock, std::size_t nbytes);
// Into `buffer`; the count received, 0 at end of stream.
std::size_t sock_recv_into(Socket& sock, std::span<char> buffer);
void sock_sendall(Socket& sock, std::string_view data);
// The connection and its peer's address.
std::pair<Socket, SocketAddress> sock_accept(Socket& sock);
// Names resolve with getaddrinfo on a to_thread thread. OSError(errno, "Connect call failed
// ('127.0.0.1', 9)"), or ConnectionRefusedError &c., on failure.
void sock_connect(Socket& sock, const SocketAddress& address);
// sendfile(2) from `file_fd` at `offset`, `count` bytes (all by default); the count sent.
std::size_t sock_sendfile(Socket& sock, int file_fd, std::size_t offset = 0,
                          std::optional<std::size_t> count = std::nullopt);

void add_reader(int fd, std::function<void()> callback);
void add_writer(int fd, std::function<void()> callback);
bool remove_reader(int fd);  // whether a reader was registered
bool remove_writer(int fd);

}  // namespace weft
