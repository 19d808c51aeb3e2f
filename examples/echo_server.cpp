// examples/echo_server.cpp: the smallest useful costream server, with a graceful shutdown.
// SPDX-License-Identifier: BSL-1.0
//
//   echo_server [port]          port 0 (the default) lets the system pick one
//
// Prints "listening on <address>:<port>", echoes every line back to its sender,
// and on SIGINT/SIGTERM stops accepting, lets connected clients finish their
// current exchange, and exits.
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <cstdint>
#include <iostream>
#include <string>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

// One coroutine per client. readline() returns "" only at end of stream (the
// client closed its side); a last line without '\n' is still returned.
net::awaitable<void> echo(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);       // buffers and returns at once
    co_await writer.drain();  // waits only while the peer is slower than us
  }
  writer.close();               // flushes what is buffered, then closes
  co_await writer.wait_closed();
}

net::awaitable<void> serve(std::uint16_t port) {
  auto server = co_await costream::start_server(echo, "127.0.0.1", port);
  std::cout << "listening on " << server.sockets()[0] << std::endl;

  // Ctrl-C or kill: close the listening socket. serve_forever() then returns.
  net::signal_set signals(co_await net::this_coro::executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) { server.close(); });

  co_await server.serve_forever();
  server.close_clients();        // each client's writer flushes and closes
  co_await server.wait_closed(); // every connection is gone, every client coroutine returned
  std::cout << "closed" << std::endl;
}

int main(int argc, char* argv[]) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoul(argv[1]) : 0);
  net::io_context io;
  net::co_spawn(io, serve(port), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
