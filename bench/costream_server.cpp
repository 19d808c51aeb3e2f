// bench/costream_server.cpp: the benchmark server written the idiomatic costream way.
// SPDX-License-Identifier: BSL-1.0
//
// usage: costream_server ping|ping-try|echo|echo-try|sink|bulk-echo [strand]
//
// Listens on 127.0.0.1, port 0, prints "listening on 127.0.0.1:PORT" as its first line and runs
// one thread until SIGTERM or SIGINT. Each connection is a coroutine written as a user would write
// it after reading the README: readline() returning std::string, one write() per reply, and
// drain() when the writer says so (needs_drain(): the same flow control as drain() after every
// write, without a coroutine frame per reply while nothing is paused).
//   ping       every line gets "+PONG\r\n" (what redis-benchmark -t ping_inline expects)
//   ping-try   the same with the zero-copy reads: try_readline()'s view of a buffered request,
//              readline() when none is buffered
//   echo       every line is written back
//   echo-try   the same with the zero-copy reads: try_readline()'s view of a buffered line,
//              readline() when none is buffered
//   sink       readexactly(65536) until end of stream (the last, short chunk arrives as the
//              partial data of the no-throw form), then replies "<bytes>\n" and closes
//   bulk-echo  every 64 KiB chunk (and the last short one) is written back
// "strand" gives every connection its own strand (server_options' default); without it the
// connections share the single-threaded io_context, as the option's documentation advises.
#include <costream/costream.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace {

constexpr std::size_t chunk_size = 65536;

asio::awaitable<void> ping(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write("+PONG\r\n");
    if (writer.needs_drain()) co_await writer.drain();
  }
}

asio::awaitable<void> echo(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);
    if (writer.needs_drain()) co_await writer.drain();
  }
}

// ping with the zero-copy reads: a request the buffer holds is taken as a
// view (try_readline), readline does the rest.
asio::awaitable<void> ping_try(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string owned;;) {
    std::optional<std::string_view> line = reader.try_readline();
    if (!line) line = owned = co_await reader.readline();
    if (line->empty()) break;
    writer.write("+PONG\r\n");
    if (writer.needs_drain()) co_await writer.drain();
  }
}

// The line echo with the zero-copy reads: a line the buffer holds is taken
// as a view (try_readline: no copy, no coroutine frame) and written from
// it; readline does the rest (waiting, end of stream).
asio::awaitable<void> echo_try(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string owned;;) {
    std::optional<std::string_view> line = reader.try_readline();
    if (!line) line = owned = co_await reader.readline();
    if (line->empty()) break;
    writer.write(*line);
    if (writer.needs_drain()) co_await writer.drain();
  }
}

asio::awaitable<void> sink(costream::stream_reader reader, costream::stream_writer writer) {
  std::uint64_t total = 0;
  for (;;) {
    std::error_code ec;
    const std::string chunk = co_await reader.readexactly(chunk_size, ec);
    total += chunk.size();  // at end of stream: the partial chunk
    if (ec == costream::errc::incomplete_read) break;
    if (ec) throw std::system_error(ec);
  }
  writer.write(std::to_string(total) + "\n");
  writer.close();
  co_await writer.wait_closed();
}

asio::awaitable<void> bulk_echo(costream::stream_reader reader, costream::stream_writer writer) {
  for (;;) {
    std::error_code ec;
    const std::string chunk = co_await reader.readexactly(chunk_size, ec);
    if (!chunk.empty()) {
      writer.write(chunk);
      co_await writer.drain();
    }
    if (ec == costream::errc::incomplete_read) break;
    if (ec) throw std::system_error(ec);
  }
  writer.close();
  co_await writer.wait_closed();
}

template <class Handler>
asio::awaitable<void> serve(Handler handler, costream::server_options options) {
  costream::server server = co_await costream::start_server(handler, "127.0.0.1", 0, options);
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(server.sockets()[0].port()));
  std::fflush(stdout);
  co_await server.serve_forever();
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  costream::server_options options;
  options.strand_per_connection = argc > 2 && std::string_view(argv[2]) == "strand";

  asio::io_context io(1);
  asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const std::error_code&, int) { io.stop(); });
  int status = 0;
  auto done = [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::fprintf(stderr, "costream_server: %s\n", ex.what());
    }
    status = 1;
    io.stop();
  };
  if (mode == "ping") {
    asio::co_spawn(io, serve(ping, options), done);
  } else if (mode == "echo") {
    asio::co_spawn(io, serve(echo, options), done);
  } else if (mode == "ping-try") {
    asio::co_spawn(io, serve(ping_try, options), done);
  } else if (mode == "echo-try") {
    asio::co_spawn(io, serve(echo_try, options), done);
  } else if (mode == "sink") {
    asio::co_spawn(io, serve(sink, options), done);
  } else if (mode == "bulk-echo") {
    asio::co_spawn(io, serve(bulk_echo, options), done);
  } else {
    std::fprintf(stderr, "usage: costream_server ping|ping-try|echo|echo-try|sink|bulk-echo [strand]\n");
    return 2;
  }
  io.run();
  return status;
}
