// examples/proxy.cpp: a TCP forwarder, with backpressure and half-close in both directions.
// SPDX-License-Identifier: BSL-1.0
//
//   proxy <listen port> <target port> [target host]   listen port 0 lets the system pick one
//
// Each client connection gets a connection to the target, and two pumps copy bytes, one
// each way. Two ideas:
//  1. Backpressure is read -> write -> drain. drain() waits while the far side is slower
//     than the near one, and while it waits the pump does not read: the connection stops
//     reading the socket once 2 x limit bytes are buffered (asyncio's flow control), so the
//     kernel's window fills and the fast sender is slowed down. Memory per direction stays
//     bounded (2 x limit + one socket read, plus the write high-water mark).
//  2. Half-close travels through. End of stream from one side becomes write_eof() on the
//     other: a client that sends a request and shuts down its sending side still gets the
//     whole answer. The connections close when both directions have ended.
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <cstdint>
#include <iostream>
#include <string>
#include <system_error>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

namespace {

using namespace net::experimental::awaitable_operators;  // a && b: run both, wait for both

// Copies `from` to `to` until end of stream, then passes the end of stream on. The no-throw
// forms report a failure in `ec`: a reset on either connection aborts both, so a reset
// travels through as well.
net::awaitable<void> pump(costream::stream_reader from, costream::stream_writer to) {
  costream::error_code ec;
  for (std::string data; !ec && !(data = co_await from.read(65536, ec)).empty();) {
    to.write(data, ec);
    if (!ec) co_await to.drain(ec);  // waits while `to` has more than the high-water mark
  }
  if (ec) {
    from.protocol()->abort();  // the other pump's read or drain wakes and ends too
    to.protocol().abort();
  } else {
    to.write_eof();  // the far side reads end of stream; the other direction goes on
  }
}

net::awaitable<void> forward(costream::stream_reader client_reader, costream::stream_writer client_writer,
                              std::string host, std::uint16_t port) {
  try {
    // open_connection runs the new connection on this coroutine's executor (the client's
    // strand), so both pumps and both connections share one strand: no locks needed.
    auto [target_reader, target_writer] = co_await costream::open_connection(host, port);
    co_await (pump(client_reader, target_writer) && pump(target_reader, client_writer));
  } catch (const costream::system_error& e) {
    std::cerr << "proxy: " << e.what() << std::endl;  // e.g. the target refused the connection
    client_writer.protocol().abort();                 // the client sees a reset, not an end
  }
  // Returning drops the last reader and writer handles: each connection closes gracefully.
}

net::awaitable<void> serve(std::uint16_t listen_port, std::string host, std::uint16_t target_port) {
  auto client = [&](costream::stream_reader r, costream::stream_writer w) { return forward(r, w, host, target_port); };
  auto server = co_await costream::start_server(client, "127.0.0.1", listen_port);
  std::cout << "listening on " << server.sockets()[0] << std::endl;

  net::signal_set signals(co_await net::this_coro::executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) { server.close(); });
  co_await server.serve_forever();
  server.close_clients();
  co_await server.wait_closed();  // `host` outlives every client coroutine
  std::cout << "closed" << std::endl;
}

}  // namespace

int main(int argc, char* argv[]) {
  if (argc < 3) {
    std::cerr << "usage: proxy <listen port> <target port> [target host]\n";
    return 2;
  }
  const auto listen_port = static_cast<std::uint16_t>(std::stoul(argv[1]));
  const auto target_port = static_cast<std::uint16_t>(std::stoul(argv[2]));
  net::io_context io;
  net::co_spawn(io, serve(listen_port, argc > 3 ? argv[3] : "127.0.0.1", target_port), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
