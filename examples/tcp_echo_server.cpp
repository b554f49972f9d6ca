// asyncio-stream.rst, "TCP echo server using streams". Usage: example_tcp_echo_server [port]
// (8888 by default; 0 picks a free one, which the first line names).
#include <cstdlib>
#include <iostream>
#include <string>

#include <weft/weft.hpp>

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8888);
  // async def handle_echo(reader, writer):
  auto handle_echo = [](weft::StreamReader reader, weft::StreamWriter writer) {
    std::string data = reader.read(100);
    std::string message = data;
    auto addr = std::any_cast<weft::SocketAddress>(writer.get_extra_info("peername"));
    std::cout << "Received '" << message << "' from " << addr.repr() << std::endl;
    std::cout << "Send: '" << message << "'" << std::endl;
    writer.write(data);
    writer.drain();
    std::cout << "Close the connection" << std::endl;
    writer.close();
    writer.wait_closed();
  };
  weft::run([&] {
    auto server = weft::start_server(handle_echo, "127.0.0.1", port);
    std::string addrs;
    for (const auto& sock : server.sockets()) addrs += (addrs.empty() ? "" : ", ") + sock.repr();
    std::cout << "Serving on " << addrs << std::endl;
    server.serve_forever();  // async with server: await server.serve_forever()
  });
}
