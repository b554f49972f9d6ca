// Internal: the state behind StreamReader and StreamWriter. A Connection owns the socket's fd:
// it counts the reads in a system call outside its mutex, so that close() never lets the fd
// number be reused under one of them (the close waits for the last, as Go's fdMutex does).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "weft/detail/futex_lock.hpp"
#include "weft/detail/io_wait.hpp"
#include "weft/future.hpp"
#include "weft/socket.hpp"

namespace weft::detail {

struct Connection;

struct ReaderState {
  explicit ReaderState(std::size_t limit_) : limit(limit_) {}
  // Waits until the buffer grew past `seen` bytes, or EOF or an error came (asyncio's
  // _wait_for_data): pulls from the connection, or waits for feed_data. RuntimeError if a task
  // waits already. Returns at once if that happened since the caller looked: with several
  // workers a feed_data may land between the caller's look and this call.
  // With `direct` non-empty and a connection behind, the bytes may land there instead of in the
  // buffer (read_into's zero-copy path): returns how many did.
  std::size_t wait_for_data(const char* function, std::size_t seen, std::span<char> direct = {});

  mutable FutexLock mutex;
  std::string buffer;                  // guarded by mutex
  bool eof = false;                    // guarded by mutex
  std::exception_ptr error;            // guarded by mutex
  bool waiting = false;                // guarded by mutex: a task waits for data
  std::optional<Future<void>> waiter;  // guarded by mutex: a fed reader's waiting task
  const std::size_t limit;
  std::shared_ptr<Connection> source;  // set once, before sharing; null: fed by hand
  // How much one receive asks for: 4 KiB at first, doubled each time a receive fills it, up to
  // 64 KiB, so a chatty connection makes small reads and a bulk one asyncio-sized ones. The
  // waiting task's alone (see `waiting`). The bytes land in the worker's receive area
  // (connection.cpp), not in memory of this reader's own.
  std::size_t receive_size = 0;
  // The last receive was short, so the socket's queue was empty: the next one waits for the
  // reactor's edge before it asks (Tokio clears readiness on a partial read for the same
  // reason). The waiting task's alone, as receive_size.
  bool drained = false;
};

struct Connection : std::enable_shared_from_this<Connection> {
  static constexpr std::size_t high_water = 64 * 1024;
  static constexpr std::size_t low_water = 16 * 1024;

  // Takes over the socket's fd; registers it with the running runtime's reactor.
  explicit Connection(Socket sock);
  ~Connection();

  // One read into `reader`'s buffer (or EOF, or the error), waiting on the reactor as needed.
  // With `direct` non-empty the bytes go there instead: returns how many did (0: none, then EOF,
  // an error, or bytes in the buffer are the outcome, as without it).
  std::size_t receive(ReaderState& reader, std::span<char> direct = {});
  // Waits for the socket to turn readable. False when it was closed (or is closing): `reader`
  // is then at EOF.
  bool wait_readable(ReaderState& reader);
  void write(std::string_view data);
  void drain(ReaderState* reader);
  void close();
  void abort();
  void write_eof();
  void wait_closed();
  bool is_closing() const;
  std::any extra_info(const std::string& name) const;
  // asyncio's repr of the transport: "<Transport fd=7 read=idle write=<idle, bufsize=0>>".
  std::string repr() const;
  // The last StreamWriter handle went (asyncio's StreamWriter.__del__): unless closing already,
  // closes and warns "unclosed <StreamWriter ...>" (ResourceWarning), or warns "loop is closed"
  // if the runtime has shut down. Never throws.
  void last_writer_gone() noexcept;
  // Called once, after the fd is closed (a server's count of its connections).
  std::function<void()> on_closed;
  // The reader of this connection: fed EOF when it closes (asyncio's connection_lost). Set
  // before sharing.
  std::weak_ptr<ReaderState> reader;

 private:
  static void flush(std::shared_ptr<Connection> self);
  // With the lock: closes the fd (or leaves it to the last read in flight), wakes the drainers,
  // completes wait_closed; then unlocks and calls on_closed.
  void close_now(std::unique_lock<FutexLock>& lock);
  void wake_drainers();  // with the lock
  void start_flusher(std::unique_lock<FutexLock>& lock);

  mutable FutexLock mutex_;
  int fd_;
  IoHandle io_;
  std::string out_;             // unsent, from out_offset_
  std::size_t out_offset_ = 0;  // sent part of out_
  bool flushing_ = false;       // a flusher task runs
  bool closing_ = false;
  bool closed_ = false;  // fd closed or close pending on reads in flight
  bool eof_requested_ = false;
  int reads_in_flight_ = 0;
  std::exception_ptr lost_;
  std::vector<Future<void>> drainers_;
  Future<void> closed_future_;
  std::size_t pending() const { return out_.size() - out_offset_; }
};

}  // namespace weft::detail
