// examples/multicore_server.cpp: one line-echo server on N threads, in each of the two ways Asio offers.
// SPDX-License-Identifier: BSL-1.0
//
//   multicore_server --reuse-port N [port]   N threads, each running its own io_context with its
//                                            own server on the same port (SO_REUSEPORT): the
//                                            kernel spreads new connections over the N servers
//   multicore_server --shared N [port]       one io_context and one server, run by N threads;
//                                            every connection on its own strand
//
// Prints "listening on 127.0.0.1:<port>" once every server listens, echoes every line back, and
// on SIGINT/SIGTERM closes gracefully: prints how many connections each server took, then
// "closed". README.md ("More than one core") says when to choose which.
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <atomic>
#include <cstdint>
#include <deque>
#include <future>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

// The same per-connection coroutine either way: a connection runs on one thread at a time (its
// io_context's only thread, or its strand), so nothing in it needs a lock.
net::awaitable<void> echo(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);
    if (writer.needs_drain()) co_await writer.drain();
  }
  writer.close();
  co_await writer.wait_closed();
}

// One server on the executor this coroutine runs on. It says when it listens (and on which port),
// then serves until SIGINT/SIGTERM: Asio tells every signal_set of the signal, one per server.
net::awaitable<void> serve(std::uint16_t port, costream::server_options options,
                           std::promise<std::uint16_t>& listening, std::atomic<unsigned>& served) {
  auto server = co_await costream::start_server(
      [&served](costream::stream_reader reader, costream::stream_writer writer) {
        ++served;
        return echo(std::move(reader), std::move(writer));
      },
      "127.0.0.1", port, options);
  net::signal_set signals(co_await net::this_coro::executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) { server.close(); });
  listening.set_value(server.sockets()[0].port());

  co_await server.serve_forever();
  server.close_clients();
  co_await server.wait_closed();
}

void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

int main(int argc, char* argv[]) {
  const std::string_view way = argc > 1 ? argv[1] : "";
  const unsigned threads = argc > 2 ? static_cast<unsigned>(std::stoul(argv[2])) : 0;
  if ((way != "--reuse-port" && way != "--shared") || threads < 1 || threads > 64) {
    std::cerr << "usage: multicore_server --reuse-port N [port] | --shared N [port]\n";
    return 2;
  }
  auto port = static_cast<std::uint16_t>(argc > 3 ? std::stoul(argv[3]) : 0);

  costream::server_options options;
  const unsigned servers = way == "--reuse-port" ? threads : 1;
  std::deque<net::io_context> contexts;     // a deque: an io_context cannot move
  std::deque<std::promise<std::uint16_t>> listening(servers);
  std::deque<std::atomic<unsigned>> served(servers);
  std::vector<std::thread> pool;

  if (way == "--reuse-port") {
    // Way 1: a server per thread. Each io_context has one thread, so no strand is needed; every
    // server sets SO_REUSEPORT, the first one (port 0: any free port) picks the port.
    options.reuse_port = true;
    options.strand_per_connection = false;
    for (unsigned i = 0; i < servers; ++i) {
      net::io_context& io = contexts.emplace_back(1);  // 1: a concurrency hint, one thread here
      net::co_spawn(io, serve(port, options, listening[i], served[i]), rethrow);
      pool.emplace_back([&io] { io.run(); });
      port = listening[i].get_future().get();  // the others join the first one's port
    }
  } else {
    // Way 2: one io_context, N threads. A connection's work may run on any of them, one at a
    // time: strand_per_connection (the default) gives each connection its own strand.
    net::io_context& io = contexts.emplace_back(static_cast<int>(threads));
    net::co_spawn(io, serve(port, options, listening[0], served[0]), rethrow);
    for (unsigned i = 0; i < threads; ++i) pool.emplace_back([&io] { io.run(); });
    port = listening[0].get_future().get();
  }
  std::cout << "listening on 127.0.0.1:" << port << std::endl;

  for (std::thread& thread : pool) thread.join();  // each run() returns when its server closed
  for (unsigned i = 0; i < servers; ++i) std::cout << "server " << i << ": " << served[i].load() << " connections\n";
  std::cout << "closed" << std::endl;
}
