// examples/socketpair.cpp: register an open socket to wait for data with costream (asyncio's
// "Register an open socket to wait for data using streams").
// SPDX-License-Identifier: BSL-1.0
//
//   socketpair      no arguments; prints what it received and exits 0
//
// asyncio's example makes a socket pair, hands one end to open_connection(sock=...) and sends
// on the other end with the plain socket API. The costream counterpart: make_connection()
// wraps any connected Asio stream (here one end of a Unix socket pair; a descriptor opened
// elsewhere is one socket.assign(protocol, fd) away) in a reader and a writer. The other end
// stays a plain Asio socket: what it writes, the costream end reads with read() and readline(),
// and the other way round. Which end is "costream" is invisible to the peer.
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

// Two Asio headers costream.hpp does not bring (the names are reached through costream::net).

#include <array>
#include <chrono>
#include <cstddef>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>

namespace {

namespace net = costream::net;
using unix_socket = net::local::stream_protocol::socket;

net::awaitable<void> demo() {
  auto executor = co_await net::this_coro::executor;
  unix_socket ours(executor), theirs(executor);
  net::local::connect_pair(ours, theirs);

  // Register our end: from here on costream reads it all the time, as asyncio's transport does.
  auto [reader, writer] = costream::make_connection(std::move(ours));

  // As asyncio's loop.call_soon(wsock.send, b"abc"): the data is sent after the read below has
  // started waiting for it, with a plain (blocking) Asio write on the other end.
  net::post(executor, [&theirs] { net::write(theirs, net::buffer(std::string_view("abc"))); });
  std::string data = co_await reader.read(100);  // waits: nothing has arrived yet
  std::cout << "Received: " << data << std::endl;

  // Lines, sent later from an asynchronous Asio write: readline waits for each one.
  net::steady_timer later(executor, std::chrono::milliseconds(20));
  const std::string lines = "first line\nsecond line\nno newline at the end";
  later.async_wait([&theirs, &lines](costream::error_code) {
    net::async_write(theirs, net::buffer(lines), [&theirs](costream::error_code ec, std::size_t) {
      if (!ec) theirs.shutdown(unix_socket::shutdown_send);  // then end of stream
    });
  });
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    if (line.back() == '\n') line.pop_back();
    std::cout << "Line: " << line << std::endl;  // the last one without its '\n', as asyncio's
  }
  std::cout << "End of stream: at_eof() is " << std::boolalpha << reader.at_eof() << std::endl;

  // The other way: costream writes, the plain end reads. The other end half-closed its side;
  // ours stays writable, as half-close allows.
  writer.write("thanks, bye\n");
  co_await writer.drain();
  writer.close();  // flushes, then closes our end
  co_await writer.wait_closed();
  std::array<char, 64> buffer;
  costream::error_code ec;
  const std::size_t n = net::read(theirs, net::buffer(buffer), ec);  // to end of stream
  std::cout << "The other end received: " << std::string(buffer.data(), n);
  std::cout << "The other end then read: " << (ec == net::error::eof ? "end of stream" : ec.message()) << std::endl;
}

}  // namespace

int main() {
  net::io_context io;
  net::co_spawn(io, demo(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
