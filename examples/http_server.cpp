// A minimal HTTP/1.1 server on weft's streams: keep-alive, pipelined requests answered in order,
// bodies framed by Content-Length. Usage: example_http_server [port] (8080 by default; 0 picks
// a free one, which the first line names). Every request gets "Hello, World!" back, or its
// body for a POST.
#include <cstdlib>
#include <iostream>
#include <string>

#include <weft/weft.hpp>

namespace {

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// One connection: requests one after the other until the client closes or asks to.
void handle_http(weft::StreamReader reader, weft::StreamWriter writer) {
  try {
    for (;;) {
      std::string request_line = reader.readline();
      if (request_line.empty()) break;  // the client closed the connection
      std::string method = request_line.substr(0, request_line.find(' '));
      std::size_t content_length = 0;
      bool keep_alive = request_line.find("HTTP/1.1") != std::string::npos;
      for (;;) {
        std::string header = reader.readuntil("\r\n");
        if (header == "\r\n") break;
        std::string name = lower(header.substr(0, header.find(':')));
        std::string value = header.substr(header.find(':') + 1);
        value = value.substr(value.find_first_not_of(' '));
        value.resize(value.size() - 2);  // the CRLF
        if (name == "content-length") content_length = std::stoul(value);
        if (name == "connection") keep_alive = lower(value) != "close";
      }
      std::string body = reader.readexactly(content_length);
      if (method != "POST") body = "Hello, World!";
      std::string response = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) +
                             "\r\nContent-Type: text/plain\r\n";
      if (!keep_alive) response += "Connection: close\r\n";
      writer.write(response + "\r\n" + body);
      writer.drain();
      if (!keep_alive) break;
    }
  } catch (const weft::IncompleteReadError&) {
    // The client went away mid-request.
  } catch (const std::exception&) {
    // A malformed request or a reset: this connection's problem alone.
  }
  writer.close();
}

}  // namespace

int main(int argc, char** argv) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 8080);
  weft::run([&] {
    auto server = weft::start_server(handle_http, "127.0.0.1", port);
    std::cout << "Serving on " << server.sockets().at(0).repr() << std::endl;
    server.serve_forever();
  });
}
