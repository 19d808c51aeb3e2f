// tests/package/consumer/main.cpp: a server and a client exchange one line over loopback.
// SPDX-License-Identifier: BSL-1.0
// It names Asio only as costream::net, so it builds on standalone Asio and on Boost.Asio alike.
#include <costream/costream.hpp>

#include <iostream>
#include <string>

namespace net = costream::net;

net::awaitable<void> shout(costream::stream_reader reader, costream::stream_writer writer) {
  std::string line = co_await reader.readline();
  for (char& c : line) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  writer.write(line);
  co_await writer.drain();
}

int main() {
  net::io_context io;
  std::string reply;
  net::co_spawn(io, [&]() -> net::awaitable<void> {
    auto server = co_await costream::start_server(shout, "127.0.0.1", 0);
    auto [reader, writer] = co_await costream::open_connection("127.0.0.1", server.sockets()[0].port());
    writer.write("hello from a consumer\n");
    reply = co_await reader.readline();
    server.close();
  }, net::detached);
  io.run();
  std::cout << "costream " << COSTREAM_VERSION_MAJOR << '.' << COSTREAM_VERSION_MINOR << ": " << reply;
  return reply == "HELLO FROM A CONSUMER\n" ? 0 : 1;
}
