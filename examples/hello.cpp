#include <costream/costream.hpp>
#include <iostream>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

// Each client gets its own coroutine: read a line, echo it, until end of stream.
net::awaitable<void> echo(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);       // buffers; never blocks
    co_await writer.drain();  // flow control: waits only above the high-water mark
  }
}

net::awaitable<void> demo() {
  auto server = co_await costream::start_server(echo, "127.0.0.1", 0);
  auto [reader, writer] = co_await costream::open_connection("127.0.0.1", server.sockets()[0].port());
  writer.write("hello\n");
  std::cout << co_await reader.readline();  // "hello\n"
}

int main() {
  net::io_context io;
  net::co_spawn(io, demo(), net::detached);
  io.run();
}
