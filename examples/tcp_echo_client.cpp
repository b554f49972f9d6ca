// asyncio-stream.rst, "TCP echo client using streams". Usage: example_tcp_echo_client [port]
// (8888 by default).
#include <cstdlib>
#include <iostream>
#include <string>

#include <weft/weft.hpp>

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8888);
  // async def tcp_echo_client(message):
  auto tcp_echo_client = [port](std::string message) {
    auto [reader, writer] = weft::open_connection("127.0.0.1", port);
    std::cout << "Send: '" << message << "'" << std::endl;
    writer.write(message);
    writer.drain();
    std::string data = reader.read(100);
    std::cout << "Received: '" << data << "'" << std::endl;
    std::cout << "Close the connection" << std::endl;
    writer.close();
    writer.wait_closed();
  };
  weft::run([&] { tcp_echo_client("Hello World!"); });
}
