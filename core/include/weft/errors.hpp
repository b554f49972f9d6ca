// The error types of asyncio and of Python's coroutine protocol, as C++ exceptions.
//
// Python splits exceptions into BaseException and Exception so that `except Exception` does not
// swallow cancellation or generator shutdown. The C++ analogue of `except Exception` is
// `catch (const std::exception&)`, so CancelledError and GeneratorExit derive only from
// weft::BaseException: a handler for std::exception lets them pass, as asyncio intends.
#pragma once

#include <exception>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>

namespace weft {

// Root of the errors that are not std::exceptions (Python's BaseException minus Exception).
class BaseException {
 public:
  explicit BaseException(std::string message) : message_(std::move(message)) {}
  virtual ~BaseException() = default;
  const std::string& message() const noexcept { return message_; }
  virtual const char* what() const noexcept { return message_.c_str(); }
  virtual const char* type_name() const noexcept = 0;

 private:
  std::string message_;
};

// The task or future was cancelled. Carries the message given to cancel(msg), possibly empty.
class CancelledError : public BaseException {
 public:
  explicit CancelledError(std::string message = {}) : BaseException(std::move(message)) {}
  const char* type_name() const noexcept override { return "CancelledError"; }
};

// Raised at a coroutine's or generator's suspension point by close(): run your cleanup, then let
// it propagate (or return). Suspending again after it is an error.
class GeneratorExit : public BaseException {
 public:
  GeneratorExit() : BaseException("GeneratorExit") {}
  const char* type_name() const noexcept override { return "GeneratorExit"; }
};

// Python's KeyboardInterrupt: what weft::run / Runner::run raise on Ctrl-C (SIGINT) when the main
// task does not end by handling the cancellation the first Ctrl-C gave it, or on a second Ctrl-C.
// A BaseException, as in Python, so that `catch (const std::exception&)` lets it pass.
class KeyboardInterrupt : public BaseException {
 public:
  KeyboardInterrupt() : BaseException("") {}
  const char* type_name() const noexcept override { return "KeyboardInterrupt"; }
};

// Misuse that Python reports as RuntimeError (reusing a coroutine, no running loop, ...).
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Python's TypeError: a value of the wrong kind (e.g. a value sent into a just-started coroutine).
class TypeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Python's ValueError (e.g. "coroutine already executing").
class ValueError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// asyncio.InvalidStateError: an operation not allowed in the future's current state.
class InvalidStateError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

// asyncio.TimeoutError (an alias of the builtin TimeoutError since 3.11). As asyncio's, the one
// a timeout raises has no message, and has the CancelledError it replaced as its cause.
class TimeoutError : public std::runtime_error {
 public:
  TimeoutError() : std::runtime_error("") {}
  explicit TimeoutError(const std::string& message) : std::runtime_error(message) {}
  // Python's __cause__: the exception this one was raised from (thrown with
  // std::throw_with_nested), or null.
  std::exception_ptr cause() const noexcept {
    auto* nested = dynamic_cast<const std::nested_exception*>(this);
    return nested ? nested->nested_ptr() : nullptr;
  }
};

// Python's MemoryError: the system refused memory (e.g. the address space or the mappings for a
// coroutine's stack). A std::bad_alloc, so code that handles running out of memory catches it.
class MemoryError : public std::bad_alloc {
 public:
  explicit MemoryError(const std::string& message) : message_(message) {}
  const char* what() const noexcept override { return message_.what(); }

 private:
  std::runtime_error message_;  // its string is reference-counted: copying cannot throw
};

// Python's OSError: a system call failed. Carries errno (Python's `errno` attribute; `errno`
// itself is a macro in C++) and strerror; what() reads as Python's str():
// "[Errno 111] Connection refused". raise_os_error picks the subclass Python picks for an errno.
class OSError : public std::runtime_error {
 public:
  OSError(int error_number, const std::string& strerror);
  // OSError('message'), no errno (asyncio's ConnectionResetError('Connection lost')).
  explicit OSError(const std::string& message) : std::runtime_error(message), error_number_(0) {}
  int error_number() const noexcept { return error_number_; }
  const std::string& strerror() const noexcept { return strerror_; }

 private:
  int error_number_;
  std::string strerror_;
};

// The subclasses Python raises for these errnos (PEP 3151).
class ConnectionError : public OSError {
 public:
  using OSError::OSError;
};
class BrokenPipeError : public ConnectionError {  // EPIPE, ESHUTDOWN
 public:
  using ConnectionError::ConnectionError;
};
class ConnectionAbortedError : public ConnectionError {  // ECONNABORTED
 public:
  using ConnectionError::ConnectionError;
};
class ConnectionRefusedError : public ConnectionError {  // ECONNREFUSED
 public:
  using ConnectionError::ConnectionError;
};
class ConnectionResetError : public ConnectionError {  // ECONNRESET
 public:
  using ConnectionError::ConnectionError;
};
// socket.gaierror: a host name did not resolve. error_number() is getaddrinfo's EAI_* code
// (negative, as in Python) and what() its text: "[Errno -2] Name or service not known".
class gaierror : public OSError {
 public:
  using OSError::OSError;
};

// Throws the OSError (or the subclass Python maps `error_number` to: ConnectionResetError for
// ECONNRESET, ...) with `strerror`, by default the system's text for the errno. asyncio passes
// its own at places: sock_connect's "Connect call failed ('127.0.0.1', 9)".
[[noreturn]] void raise_os_error(int error_number, const std::string& strerror = {});

// asyncio.IncompleteReadError (an EOFError): the stream ended before the read got what it
// needed. `partial` holds what was read; `expected` is the count wanted (none: readuntil's).
class IncompleteReadError : public std::runtime_error {
 public:
  IncompleteReadError(std::string partial, std::optional<std::size_t> expected);
  std::string partial;
  std::optional<std::size_t> expected;
};

// asyncio.LimitOverrunError: the buffer limit was reached while looking for a separator;
// `consumed` is how many bytes are to be consumed.
class LimitOverrunError : public std::runtime_error {
 public:
  LimitOverrunError(const std::string& message, std::size_t consumed_)
      : std::runtime_error(message), consumed(consumed_) {}
  std::size_t consumed;
};

namespace concurrent {
// concurrent.futures.Error: the base of the errors of run_coroutine_threadsafe's ConcurrentFuture.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// concurrent.futures.CancelledError: the ConcurrentFuture was cancelled. A class of its own, apart
// from weft::CancelledError, as Python keeps it apart from asyncio.CancelledError; and, as in
// Python (where it is an Exception, not a BaseException), a std::exception.
class CancelledError : public Error {
 public:
  CancelledError() : Error("") {}
};
}  // namespace concurrent

// Describes an exception for messages and logs: "TypeName: message".
std::string describe_exception(const std::exception_ptr& error);
// Just the type: "ValueError", "std::runtime_error" (Python's exc.__class__.__name__).
std::string exception_type_name(const std::exception_ptr& error);

}  // namespace weft
