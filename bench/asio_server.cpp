// bench/asio_server.cpp: the hand-written Asio baseline, what a user writes today without costream.
// SPDX-License-Identifier: BSL-1.0
//
// usage: asio_server ping|echo|sink|bulk-echo
//
// Standalone Asio, C++20 coroutines, one coroutine per connection on a single-threaded
// io_context: asio::async_read_until(socket, asio::dynamic_buffer(std::string), '\n') for lines,
// asio::async_read of exactly 64 KiB for chunks, one asio::async_write per reply. TCP_NODELAY on
// accepted sockets. Listens on 127.0.0.1, port 0, prints "listening on 127.0.0.1:PORT" first and
// runs until SIGTERM or SIGINT. The modes are those of costream_server.cpp.

// Only Asio's configuration (ASIO_STANDALONE, coroutine detection on Clang); no costream code.
#include <costream/config.hpp>

#include <asio/buffer.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/signal_set.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

constexpr std::size_t chunk_size = 65536;

awaitable<void> ping(tcp::socket socket) {
  std::string buffer;
  try {
    for (;;) {
      const std::size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), '\n', use_awaitable);
      buffer.erase(0, n);
      co_await asio::async_write(socket, asio::buffer("+PONG\r\n", 7), use_awaitable);
    }
  } catch (const std::exception&) {  // end of stream or a reset ends the session
  }
}

awaitable<void> echo(tcp::socket socket) {
  std::string buffer;
  try {
    for (;;) {
      const std::size_t n = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), '\n', use_awaitable);
      co_await asio::async_write(socket, asio::buffer(buffer.data(), n), use_awaitable);
      buffer.erase(0, n);
    }
  } catch (const std::exception&) {
  }
}

awaitable<void> sink(tcp::socket socket) {
  std::vector<char> chunk(chunk_size);
  std::uint64_t total = 0;
  try {
    for (;;) {
      asio::error_code ec;
      const std::size_t n = co_await asio::async_read(socket, asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
      total += n;  // at end of stream: the last, short chunk
      if (ec == asio::error::eof) break;
      if (ec) co_return;
    }
    const std::string reply = std::to_string(total) + "\n";
    co_await asio::async_write(socket, asio::buffer(reply), use_awaitable);
  } catch (const std::exception&) {
  }
}

awaitable<void> bulk_echo(tcp::socket socket) {
  std::vector<char> chunk(chunk_size);
  try {
    for (;;) {
      asio::error_code ec;
      const std::size_t n = co_await asio::async_read(socket, asio::buffer(chunk), asio::redirect_error(use_awaitable, ec));
      if (n != 0) co_await asio::async_write(socket, asio::buffer(chunk.data(), n), use_awaitable);
      if (ec) break;
    }
  } catch (const std::exception&) {
  }
}

awaitable<void> listener(tcp::acceptor acceptor, awaitable<void> (*session)(tcp::socket)) {
  for (;;) {
    asio::error_code ec;
    tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) continue;  // e.g. a connection reset before it was accepted
    socket.set_option(tcp::no_delay(true), ec);
    asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  awaitable<void> (*session)(tcp::socket) = nullptr;
  if (mode == "ping") session = ping;
  if (mode == "echo") session = echo;
  if (mode == "sink") session = sink;
  if (mode == "bulk-echo") session = bulk_echo;
  if (session == nullptr) {
    std::fprintf(stderr, "usage: asio_server ping|echo|sink|bulk-echo\n");
    return 2;
  }

  asio::io_context io(1);
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(acceptor.local_endpoint().port()));
  std::fflush(stdout);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const std::error_code&, int) { io.stop(); });
  asio::co_spawn(io, listener(std::move(acceptor), session), asio::detached);
  io.run();
}
