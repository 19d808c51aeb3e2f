// examples/netcat.cpp: a tiny nc: standard input to a TCP server, the server's bytes to standard output.
// SPDX-License-Identifier: BSL-1.0
//
//   netcat HOST PORT            e.g.  printf 'a\nb\n' | netcat 127.0.0.1 8888
//
// Sends what it reads on stdin; prints what the server sends; when stdin ends, half-closes
// (the server sees end of stream and may still answer); exits once the server has closed too.
// Exits 1 if it cannot connect or the connection fails.
//
// The ideas:
// - A costream reader works over any Asio stream, not only sockets. Standard input, as an
//   net::posix::stream_descriptor, goes through make_connection like a socket would, and is
//   read with the same read(n). (stdin may be a pipe, a terminal or a regular file.)
// - A program with two inputs runs one coroutine per direction, at once: `a && b` (Asio's
//   awaitable operators) waits for both, and if one fails the other is cancelled, which every
//   costream read allows (nothing read is lost).
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <iostream>
#include <string>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

using namespace net::experimental::awaitable_operators;

// The reader type for a descriptor; costream::stream_reader is the TCP one.
using input_reader = costream::basic_stream_reader<net::posix::stream_descriptor>;

constexpr std::size_t chunk = 64 * 1024;

// stdin -> server. read(n) returns whatever has arrived (a terminal delivers a line at a time,
// a pipe what it holds), so any bytes pass, however long their lines; "" means end of input.
net::awaitable<void> send_input(input_reader input, costream::stream_writer server) {
  for (std::string data; !(data = co_await input.read(chunk)).empty();) {
    server.write(data);
    co_await server.drain();  // a server slower than stdin pauses our reading of stdin
  }
  server.write_eof();  // half-close: "no more from me"; we go on reading its answers
}

// server -> stdout, until the server closes its side.
net::awaitable<void> print_output(costream::stream_reader server) {
  for (std::string data; !(data = co_await server.read(chunk)).empty();)
    std::cout.write(data.data(), static_cast<std::streamsize>(data.size())).flush();
}

net::awaitable<void> netcat(std::string host, std::uint16_t port) {
  auto [reader, writer] = co_await costream::open_connection(host, port);

  // dup: the stream_descriptor closes the descriptor it owns; keep fd 0 itself open.
  net::posix::stream_descriptor in(co_await net::this_coro::executor, ::dup(STDIN_FILENO));
  auto input = costream::make_connection(std::move(in)).reader;  // its writer side goes unused

  co_await (send_input(input, writer) && print_output(reader));
  writer.close();
  co_await writer.wait_closed();
}

int main(int argc, char* argv[]) {
  if (argc != 3) {
    std::cerr << "usage: netcat HOST PORT\n";
    return 2;
  }
  // Asio puts the descriptor in non-blocking mode, and that flag belongs to the open file,
  // which stdin shares with the shell: put it back as we found it.
  const int stdin_flags = ::fcntl(STDIN_FILENO, F_GETFL);

  net::io_context io;
  int status = 0;
  net::co_spawn(io, netcat(argv[1], static_cast<std::uint16_t>(std::stoul(argv[2]))), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "netcat: " << ex.what() << '\n';
    }
    status = 1;
  });
  io.run();
  if (stdin_flags != -1) ::fcntl(STDIN_FILENO, F_SETFL, stdin_flags);
  return status;
}
