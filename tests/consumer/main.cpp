// Uses weft as a downstream project would: make a coroutine, drive it, check what it did.
#include <weft/weft.hpp>

#include <any>
#include <iostream>
#include <string>

namespace {
struct Dummy {
  std::any await() { return weft::suspend(std::string("dummy")); }
};
}  // namespace

int main() {
  try {
    weft::Coroutine<int> c = weft::coro(
        [](int x) {
          weft::await(Dummy{});
          return x * 2;
        },
        21);
    if (weft::getcoroutinestate(c) != weft::CORO_CREATED) {
      std::cerr << "consumer: expected CORO_CREATED, got " << weft::getcoroutinestate(c) << "\n";
      return 1;
    }
    auto first = c.send();
    if (!first.suspended() || std::any_cast<std::string>(first.yielded()) != "dummy") {
      std::cerr << "consumer: the first send did not suspend with \"dummy\"\n";
      return 1;
    }
    auto second = c.send();
    if (!second.returned() || second.value() != 42) {
      std::cerr << "consumer: the second send did not return 42\n";
      return 1;
    }
    if (weft::getcoroutinestate(c) != weft::CORO_CLOSED) {
      std::cerr << "consumer: expected CORO_CLOSED, got " << weft::getcoroutinestate(c) << "\n";
      return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << "consumer: unexpected exception: " << e.what() << "\n";
    return 1;
  }
  std::cout << "consumer: ok\n";
  return 0;
}
