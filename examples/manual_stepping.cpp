// Manual stepping (coroutine-methods.txt): a coroutine's send / throw / close called by hand,
// with a custom dummy awaitable and no event loop. Prints every step, what it returned and the
// coroutine's state -- the same transcript CPython prints for this program:
//
//   class Dummy:
//       def __init__(self, label): self.label = label
//       def __await__(self):
//           sent = yield self.label
//           return sent
//
//   async def accumulate():
//       total = 0
//       try:
//           while True:
//               try:
//                   sent = await Dummy(f"total={total}")
//                   if sent is not None: total += sent
//               except ValueError:
//                   total = 0
//       finally:
//           print("  accumulate: cleanup ran")
//
//   async def fetch():
//       print(f"  fetch: running, state: {inspect.getcoroutinestate(f)}")
//       n = await Dummy("need a number")
//       return n + 42
#include <weft/core.hpp>

#include <any>
#include <functional>
#include <iostream>
#include <string>
#include <type_traits>

namespace {

// The custom dummy awaitable: its await() (Python's __await__) suspends once, handing `label` to
// whoever drives the coroutine, and evaluates to what the driver sends back.
struct Dummy {
  std::string label;
  std::any await() { return weft::suspend(label); }
};

const weft::CoroutineFunction accumulate{
    "accumulate", [] {
      // Python's `finally:` -- runs however the body ends.
      struct Cleanup {
        ~Cleanup() { std::cout << "  accumulate: cleanup ran\n"; }
      } cleanup;
      int total = 0;
      for (;;) {
        try {
          std::any sent = weft::await(Dummy{"total=" + std::to_string(total)});
          if (sent.has_value()) total += std::any_cast<int>(sent);
        } catch (const weft::ValueError&) {
          total = 0;
        }
      }
    }};

weft::Coroutine<int>* fetch_handle = nullptr;  // so the body can inspect its own state

const weft::CoroutineFunction fetch{
    "fetch", [] {
      std::cout << "  fetch: running, state: " << weft::getcoroutinestate(*fetch_handle) << "\n";
      std::any n = weft::await(Dummy{"need a number"});
      return std::any_cast<int>(n) + 42;
    }};

template <class R>
void print_state(const weft::Coroutine<R>& c) {
  std::cout << "state: " << weft::getcoroutinestate(c) << "\n";
}

// Prints the call, makes it, then prints what it gave back the way Python shows it.
template <class R>
void step(const char* call, const std::function<weft::Step<std::any, R>()>& make_step) {
  std::cout << call << "\n";
  try {
    auto result = make_step();
    if (result.suspended()) {
      std::cout << "  -> suspended with '" << std::any_cast<std::string>(result.yielded()) << "'\n";
    } else if constexpr (std::is_void_v<R>) {
      std::cout << "  -> returned None\n";
    } else {
      std::cout << "  -> returned " << result.value() << "\n";
    }
  } catch (const weft::TypeError& e) {
    std::cout << "  -> TypeError: " << e.what() << "\n";
  } catch (const weft::RuntimeError& e) {
    std::cout << "  -> RuntimeError: " << e.what() << "\n";
  }
}

}  // namespace

int main() {
  std::cout << "-- accumulate: every method, stepped by hand --\n";
  weft::Coroutine<void> c = accumulate();
  print_state(c);
  step<void>("send(1)", [&] { return c.send(1); });
  step<void>("send(None)", [&] { return c.send(); });
  print_state(c);
  step<void>("send(5)", [&] { return c.send(5); });
  step<void>("send(7)", [&] { return c.send(7); });
  step<void>("throw(ValueError('reset'))", [&] { return c.throw_(weft::ValueError("reset")); });
  print_state(c);
  std::cout << "close()\n";
  c.close();
  std::cout << "  -> returned None\n";
  print_state(c);
  step<void>("send(None)", [&] { return c.send(); });
  std::cout << "close()\n";
  c.close();
  std::cout << "  -> returned None (already closed: silent)\n";

  std::cout << "-- fetch: run to completion --\n";
  weft::Coroutine<int> f = fetch();
  fetch_handle = &f;
  step<int>("send(None)", [&] { return f.send(); });
  step<int>("send(8)", [&] { return f.send(8); });
  print_state(f);
}
