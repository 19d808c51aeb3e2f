// examples/chat_server.cpp: a line-based chat room where a slow reader cannot stall the others.
// SPDX-License-Identifier: BSL-1.0
//
//   chat_server [port]          port 0 (the default) lets the system pick one
//
// Prints "listening on <address>:<port>". Every line a client sends goes to every other
// client as "[<sender address>] <line>"; "* ..." lines are notices from the server.
//
// The idea: never let one client's socket decide how fast the room goes.
// A broadcast calls write() on every member's writer, and write() never blocks: the bytes wait
// in that member's own buffer until its socket takes them. So a member that stops reading
// costs memory, not time; we bound the memory. A member with more than max_backlog bytes
// waiting (after the kernel's socket buffers are full) is disconnected: the server drops
// everything still queued for it and closes its socket at once (abort(), asyncio's
// transport.abort()); the member receives what the kernel had already accepted for it, then
// end of stream. The others get "* <address> left (too slow)". Nobody ever waits for it.
//
// (Do not co_await drain() on the other members' writers here: drain() is flow control, it
// would make the sender wait for the slowest reader in the room, which is what we avoid.)
//
// On SIGINT/SIGTERM: stop accepting, tell everyone, close every connection gracefully
// (flushing), and exit; a member that still does not take its last bytes after 2 s is aborted.
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

namespace {

constexpr std::size_t max_backlog = 1024 * 1024;  // bytes queued for one member, beyond the kernel's

struct member_state {
  costream::stream_writer writer;
  bool too_slow = false;
};

// The room: every member, by address. One thread runs the io_context and every connection
// runs on its executor (strand_per_connection = false below), so only one coroutine runs at
// a time and the room is plain data: no lock, no strand to hop to.
std::map<std::string, member_state> room;

void broadcast(const std::string& from, std::string_view message) {
  for (auto& [name, m] : room) {
    if (name == from || m.writer.is_closing()) continue;  // closing: leaving, or aborted below
    m.writer.write(message);                               // buffers; never waits for the peer
    if (m.writer.get_write_buffer_size() > max_backlog) {
      std::cout << name << " is too slow: disconnected" << std::endl;
      m.too_slow = true;
      m.writer.protocol().abort();  // drops its backlog and closes now; its readline returns ""
    }
  }
}

net::awaitable<void> member(costream::stream_reader reader, costream::stream_writer writer) {
  costream::error_code ec;
  const auto peer = writer.stream().remote_endpoint(ec);
  if (ec) co_return;  // gone already
  std::ostringstream address;
  address << peer;
  const std::string name = address.str();

  room.emplace(name, member_state{writer});
  broadcast(name, "* " + name + " joined\n");
  // The error_code form: a reset or an over-long line ends this member, without an
  // exception that would skip the room.erase below.
  for (std::string line; !(line = co_await reader.readline(ec)).empty() && !ec;) {
    if (line.back() != '\n') line += '\n';  // the last line of a stream may lack its newline
    broadcast(name, "[" + name + "] " + line);
    // write() only buffers; the flush runs when the writing coroutine yields. Here that is the
    // sender's coroutine, and while the sender's bytes keep coming it need not yield at all:
    // readline completes from the buffer, or reads a readable socket at once. So yield when
    // no whole line is left buffered: the other members' flushes run (one system call for the
    // whole batch), and a sender that never pauses cannot hold the thread while everyone
    // else's backlog grows into a disconnection.
    if (reader.buffered().find('\n') == std::string_view::npos)
      co_await net::post(reader.get_executor(), net::use_awaitable);
  }
  const bool too_slow = room.at(name).too_slow;
  room.erase(name);
  broadcast(name, "* " + name + (too_slow ? " left (too slow)\n" : " left\n"));
}

net::awaitable<void> serve(std::uint16_t port) {
  costream::server_options options;
  options.strand_per_connection = false;  // one thread: every connection shares its executor
  auto server = co_await costream::start_server(member, "127.0.0.1", port, options);
  std::cout << "listening on " << server.sockets()[0] << std::endl;

  auto executor = co_await net::this_coro::executor;
  net::signal_set signals(executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) { server.close(); });
  co_await server.serve_forever();

  broadcast("", "* server shutting down\n");
  server.close_clients();  // graceful: each connection flushes what it has, then closes
  net::steady_timer grace(executor, std::chrono::seconds(2));
  grace.async_wait([&server](costream::error_code e) {
    if (!e) server.abort_clients();  // someone did not read its last bytes in time
  });
  co_await server.wait_closed();  // every connection is gone, every member coroutine returned
  grace.cancel();
  std::cout << "closed" << std::endl;
}

}  // namespace

int main(int argc, char* argv[]) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoul(argv[1]) : 0);
  net::io_context io;
  net::co_spawn(io, serve(port), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
