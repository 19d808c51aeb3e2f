// bench/costream_server.cpp: the benchmark server written the idiomatic costream way.
// SPDX-License-Identifier: BSL-1.0
//
// usage: costream_server ping|ping-try|ping-drain|echo|echo-try|echo-drain|sink|bulk-echo
//                        [strand | reuse-port N | shared N]
//
// Listens on 127.0.0.1, port 0, prints "listening on 127.0.0.1:PORT" as its first line and runs
// one thread (or N, see below) until SIGTERM or SIGINT. Each connection is a coroutine written as a user would write
// it after reading the README: readline() returning std::string, one write() per reply, and
// drain() when the writer says so (needs_drain(): the same flow control as drain() after every
// write, without a coroutine frame per reply while nothing is paused).
//   ping       every line gets "+PONG\r\n" (what redis-benchmark -t ping_inline expects)
//   ping-try   the same with the zero-copy reads: try_readline()'s view of a buffered request,
//              readline() when none is buffered
//   echo       every line is written back
//   ping-drain, echo-drain
//              ping and echo with co_await drain() after every write, as the README teaches
//   echo-try   the same with the zero-copy reads: try_readline()'s view of a buffered line,
//              readline() when none is buffered
//   sink       readexactly(65536) until end of stream (the last, short chunk arrives as the
//              partial data of the no-throw form), then replies "<bytes>\n" and closes
//   bulk-echo  every 64 KiB chunk (and the last short one) is written back
// "strand" gives every connection its own strand (server_options' default); without it the
// connections share the single-threaded io_context, as the option's documentation advises.
// The two ways to use N threads (README.md, "More than one core"; the bench's "threads" rows):
//   reuse-port N  N threads, each running its own io_context with its own server on the same
//                 port (server_options::reuse_port): the kernel spreads the connections over
//                 them; no strands, nothing shared
//   shared N      one io_context and one server, run by N threads; every connection on its own
//                 strand (strand_per_connection)
#include <costream/costream.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>

#include <asio/executor_work_guard.hpp>

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

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

// ping and echo exactly as the README teaches them: co_await drain() after
// every write, paused or not (the "drain() after every write" rows).
asio::awaitable<void> ping_drain(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write("+PONG\r\n");
    co_await writer.drain();
  }
}

asio::awaitable<void> echo_drain(costream::stream_reader reader, costream::stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);
    co_await writer.drain();
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

using handler_fn = asio::awaitable<void> (*)(costream::stream_reader, costream::stream_writer);

// Called by each server once it listens; the last of `expected` prints the line run.sh waits for,
// so that with reuse-port every server listens before the first client connects.
struct listening_count {
  unsigned expected;
  std::atomic<unsigned> started{0};
  void listening(std::uint16_t port) {
    if (started.fetch_add(1) + 1 != expected) return;
    std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(port));
    std::fflush(stdout);
  }
};

asio::awaitable<void> serve(handler_fn handler, costream::server_options options, std::uint16_t port,
                            listening_count& count) {
  costream::server server = co_await costream::start_server(handler, "127.0.0.1", port, options);
  count.listening(server.sockets()[0].port());
  co_await server.serve_forever();
}

// reuse-port: the first server picks the port, then starts the others, each on its own
// io_context, on that port.
asio::awaitable<void> serve_first(handler_fn handler, costream::server_options options,
                                  std::deque<asio::io_context>& contexts, listening_count& count,
                                  void (*on_done)(std::exception_ptr)) {
  costream::server server = co_await costream::start_server(handler, "127.0.0.1", 0, options);
  const std::uint16_t port = server.sockets()[0].port();
  for (std::size_t i = 1; i < contexts.size(); ++i)
    asio::co_spawn(contexts[i], serve(handler, options, port, count), [on_done](std::exception_ptr e) { on_done(e); });
  count.listening(port);
  co_await server.serve_forever();
}

std::deque<asio::io_context>* all_contexts = nullptr;
std::atomic<int> status{0};

void stop_all() {
  for (asio::io_context& io : *all_contexts) io.stop();
}

void done(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "costream_server: %s\n", ex.what());
  }
  status = 1;
  stop_all();
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: costream_server ping|ping-try|echo|echo-try|sink|bulk-echo [strand | reuse-port N | shared N]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  const std::string_view layout = argc > 2 ? argv[2] : "";
  handler_fn handler = nullptr;
  if (mode == "ping") handler = ping;
  if (mode == "echo") handler = echo;
  if (mode == "ping-try") handler = ping_try;
  if (mode == "echo-try") handler = echo_try;
  if (mode == "ping-drain") handler = ping_drain;
  if (mode == "echo-drain") handler = echo_drain;
  if (mode == "sink") handler = sink;
  if (mode == "bulk-echo") handler = bulk_echo;
  if (handler == nullptr || argc > 4) usage();

  const bool reuse_port = layout == "reuse-port", shared = layout == "shared";
  unsigned threads = 1;
  if (reuse_port || shared) {
    if (argc != 4) usage();
    threads = static_cast<unsigned>(std::strtoul(argv[3], nullptr, 10));
    if (threads < 1 || threads > 64) usage();
  } else if (argc > 3 || (argc == 3 && layout != "strand")) {
    usage();
  }

  costream::server_options options;
  // One thread per io_context (the default, reuse-port): connections need no strand.
  options.strand_per_connection = layout == "strand" || shared;
  options.reuse_port = reuse_port;

  std::deque<asio::io_context> contexts;  // a deque: io_context cannot move
  for (unsigned i = 0; i < (reuse_port ? threads : 1); ++i)
    contexts.emplace_back(shared ? static_cast<int>(threads) : 1);
  all_contexts = &contexts;
  // The other contexts wait for their server (started by serve_first) and run until stop_all().
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (asio::io_context& io : contexts) guards.push_back(asio::make_work_guard(io));

  asio::signal_set signals(contexts[0], SIGTERM, SIGINT);
  signals.async_wait([](const std::error_code&, int) { stop_all(); });
  listening_count count{reuse_port ? threads : 1};
  if (reuse_port) {
    asio::co_spawn(contexts[0], serve_first(handler, options, contexts, count, done),
                   [](std::exception_ptr e) { done(e); });
  } else {
    asio::co_spawn(contexts[0], serve(handler, options, 0, count), [](std::exception_ptr e) { done(e); });
  }

  std::vector<std::thread> runners;
  for (unsigned i = 1; i < threads; ++i)
    runners.emplace_back([&contexts, i, reuse_port] { contexts[reuse_port ? i : 0].run(); });
  contexts[0].run();
  stop_all();
  for (std::thread& t : runners) t.join();
  return status;
}
