// asyncio.StreamReader: a buffer, EOF and an error, and one task at a time waiting for data.
// The read methods follow asyncio/streams.py step by step; only _wait_for_data differs: with a
// connection behind it, the waiting task reads the socket itself (stream_state.hpp).
#include <algorithm>
#include <string>

#include "net/stream_state.hpp"
#include "weft/streams.hpp"

namespace weft {
namespace detail {

std::size_t ReaderState::wait_for_data(const char* function, std::size_t seen,
                                       std::span<char> direct) {
  std::unique_lock lock(mutex);
  if (waiting) {
    throw RuntimeError(std::string(function) +
                       "() called while another coroutine is already waiting for incoming data");
  }
  if (eof || error || buffer.size() != seen) return 0;
  waiting = true;
  struct Done {
    ReaderState& state;
    ~Done() {
      std::lock_guard hold(state.mutex);
      state.waiting = false;
      state.waiter.reset();
    }
  } done{*this};
  if (source) {
    lock.unlock();
    return source->receive(*this, direct);
  }
  Future<void> fed;
  waiter = fed;
  lock.unlock();
  fed.await();
  return 0;
}

}  // namespace detail

namespace {

// The first n bytes of the buffer, taken off it. All of it hands the allocation over rather than
// copying it, which also leaves an idle connection's reader holding no buffer memory.
std::string take_front(std::string& buffer, std::size_t n) {
  if (n >= buffer.size()) {
    std::string all = std::move(buffer);
    buffer.clear();  // a moved-from string is valid but unspecified: make it empty
    return all;
  }
  std::string front = buffer.substr(0, n);
  buffer.erase(0, n);
  return front;
}

// read() and read_into(): with nothing buffered and no EOF yet, waits for data (the mutex is let
// go meanwhile); an error with nothing left to return is raised. Returns how many bytes landed in
// `direct` (read_into's span) rather than in the buffer; the lock is not retaken then.
std::size_t wait_for_some_data(detail::ReaderState& s, std::unique_lock<detail::FutexLock>& lock,
                               std::span<char> direct = {}) {
  if (!s.buffer.empty() || s.eof) return 0;
  const std::size_t seen = s.buffer.size();
  lock.unlock();
  if (std::size_t landed = s.wait_for_data("read", seen, direct)) return landed;
  lock.lock();
  if (s.error && s.buffer.empty()) std::rethrow_exception(s.error);
  return 0;
}

void wake_waiter(detail::ReaderState& state) {  // with the lock
  if (state.waiter && !state.waiter->done()) state.waiter->set_result();
}

}  // namespace

StreamReader::StreamReader(std::size_t limit)
    : state_(std::make_shared<detail::ReaderState>(limit)) {
  if (limit == 0) throw ValueError("Limit cannot be <= 0");
}

std::exception_ptr StreamReader::exception() const {
  std::lock_guard hold(state_->mutex);
  return state_->error;
}

void StreamReader::set_exception(std::exception_ptr error) {
  std::lock_guard hold(state_->mutex);
  state_->error = std::move(error);
  wake_waiter(*state_);
}

void StreamReader::feed_eof() {
  std::lock_guard hold(state_->mutex);
  state_->eof = true;
  wake_waiter(*state_);
}

void StreamReader::feed_data(std::string_view data) {
  std::lock_guard hold(state_->mutex);
  if (state_->eof) throw RuntimeError("feed_data after feed_eof");
  if (data.empty()) return;
  state_->buffer.append(data);
  wake_waiter(*state_);
}

bool StreamReader::at_eof() const {
  std::lock_guard hold(state_->mutex);
  return state_->eof && state_->buffer.empty();
}

std::string StreamReader::repr() const {
  std::lock_guard hold(state_->mutex);
  std::string info = "<StreamReader";
  if (!state_->buffer.empty()) info += " " + std::to_string(state_->buffer.size()) + " bytes";
  if (state_->eof) info += " eof";
  if (state_->limit != default_stream_limit) info += " limit=" + std::to_string(state_->limit);
  if (state_->waiting) info += " waiter";
  if (state_->error) info += " exception=" + describe_exception(state_->error);
  return info + ">";
}

std::string StreamReader::read(long n) {
  auto& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.error) std::rethrow_exception(s.error);
  if (n == 0) return {};
  if (n < 0) {
    // Read until EOF, in chunks of the limit (asyncio reads self._limit at a time).
    lock.unlock();
    std::string all;
    for (;;) {
      std::string block = read(static_cast<long>(s.limit));
      if (block.empty()) return all;
      all += block;
    }
  }
  wait_for_some_data(s, lock);
  return take_front(s.buffer, static_cast<std::size_t>(n));
}

std::size_t StreamReader::read_into(std::span<char> buffer) {
  auto& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.error) std::rethrow_exception(s.error);
  if (buffer.empty()) return 0;
  // Nothing buffered: the socket's bytes go straight into the caller's span (one copy, not two).
  if (std::size_t landed = wait_for_some_data(s, lock, buffer)) return landed;
  const std::size_t take = std::min(s.buffer.size(), buffer.size());
  std::copy_n(s.buffer.data(), take, buffer.data());
  s.buffer.erase(0, take);
  return take;
}

std::string StreamReader::readexactly(std::size_t n) {
  auto& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.error) std::rethrow_exception(s.error);
  if (n == 0) return {};
  while (s.buffer.size() < n) {
    if (s.eof) {
      std::string incomplete = std::move(s.buffer);
      s.buffer.clear();
      throw IncompleteReadError(std::move(incomplete), n);
    }
    const std::size_t seen = s.buffer.size();
    lock.unlock();
    s.wait_for_data("readexactly", seen);
    lock.lock();
    if (s.error) std::rethrow_exception(s.error);
  }
  return take_front(s.buffer, n);
}

void StreamReader::readexactly_into(std::span<char> buffer) {
  std::string data = readexactly(buffer.size());
  std::copy(data.begin(), data.end(), buffer.begin());
}

std::string StreamReader::readuntil(std::string_view separator) {
  return readuntil(std::vector<std::string>{std::string(separator)});
}

std::string StreamReader::readuntil(const std::vector<std::string>& separators) {
  std::vector<std::string> seps = separators;
  std::stable_sort(seps.begin(), seps.end(),
                   [](const std::string& a, const std::string& b) { return a.size() < b.size(); });
  if (seps.empty()) throw ValueError("Separator should contain at least one element");
  const std::size_t min_seplen = seps.front().size();
  const std::size_t max_seplen = seps.back().size();
  if (min_seplen == 0) throw ValueError("Separator should be at least one-byte string");
  auto& s = *state_;
  std::unique_lock lock(s.mutex);
  if (s.error) std::rethrow_exception(s.error);
  // asyncio's loop: look from `offset` (a separator cannot start before it), grow, look again.
  std::size_t offset = 0;
  std::size_t match_start = 0;
  std::size_t match_end = 0;
  for (;;) {
    const std::size_t buflen = s.buffer.size();
    if (buflen - offset >= min_seplen) {
      bool found = false;
      for (const auto& sep : seps) {
        std::size_t at = s.buffer.find(sep, offset);
        if (at != std::string::npos && (!found || at + sep.size() < match_end)) {
          found = true;
          match_start = at;
          match_end = at + sep.size();
        }
      }
      if (found) break;
      offset = buflen + 1 > max_seplen ? buflen + 1 - max_seplen : 0;
      if (offset > s.limit) {
        throw LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
      }
    }
    if (s.eof) {
      std::string chunk = std::move(s.buffer);
      s.buffer.clear();
      throw IncompleteReadError(std::move(chunk), std::nullopt);
    }
    const std::size_t seen = s.buffer.size();
    lock.unlock();
    s.wait_for_data("readuntil", seen);
    lock.lock();
    if (s.error) std::rethrow_exception(s.error);
  }
  if (match_start > s.limit) {
    throw LimitOverrunError("Separator is found, but chunk is longer than limit", match_start);
  }
  return take_front(s.buffer, match_end);
}

std::string StreamReader::readline() {
  const std::string sep = "\n";
  try {
    return readuntil(sep);
  } catch (IncompleteReadError& e) {
    return std::move(e.partial);
  } catch (const LimitOverrunError& e) {
    auto& s = *state_;
    {
      std::lock_guard hold(s.mutex);
      if (s.buffer.compare(e.consumed, sep.size(), sep) == 0) {
        s.buffer.erase(0, e.consumed + sep.size());
      } else {
        s.buffer.clear();
      }
    }
    throw ValueError(e.what());
  }
}

}  // namespace weft
