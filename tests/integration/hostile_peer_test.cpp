// tests/integration/hostile_peer_test.cpp: a costream server against peers that misbehave on purpose.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/hostile.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"
#include "support/units.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

// Each test runs a costream server whose client callback is written as a real
// server's would be: every read and drain under a deadline (with_timeout),
// errors caught and logged, the connection closed or aborted when the peer
// misbehaves. The peers are plain Asio sockets driven by hand, so they can do
// what no well-behaved client does. What the callbacks saw is kept in a
// service_log the test checks afterwards.

using namespace costream;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// One socket read: the most the input buffer holds beyond what the waiting read asked for.
constexpr std::size_t read_chunk = 64 * KiB;

// What the client callbacks of one test's server saw. Touched on the test's
// one thread only (each connection's strand runs there).
struct service_log {
  int started = 0;
  int finished = 0;
  int lines_served = 0;
  std::vector<std::string> escaped;  // exceptions that reached the server's error handler
  std::vector<costream::error_code> errors;  // errors a callback caught (and so reported) itself
  std::map<std::string, int> error_counts;

  // readline over the limit
  int overruns = 0;
  costream::error_code overrun_code;
  std::size_t overrun_consumed = 0;
  std::size_t buffered_after_overrun = 0;

  // read timeouts
  int timeouts = 0;
  std::size_t most_buffered_at_timeout = 0;
  std::size_t least_buffered_at_timeout = static_cast<std::size_t>(-1);
  bool timeout_buffer_intact = true;  // what was buffered at the timeout is the peer's bytes, untouched
  int allocated_at_timeout = 0;       // timed-out connections whose input buffer held storage
  std::size_t largest_idle_storage = 0;  // the most storage an empty input buffer held (while a read waited)

  // the sampler: reader.buffered() seen from outside the reads
  bool spin_sampling = false;
  int samples = 0;
  int allocated_samples = 0;  // samples in which the input buffer held storage
  std::size_t most_buffered = 0;

  // a peer that resets mid-line
  costream::error_code reset_read_error;
  std::string buffered_after_reset;
  std::string read_after_reset;
  costream::error_code second_read_error;
  costream::error_code drain_after_reset;

  // a peer that half-closes
  bool saw_eof = false;

  // a peer that never reads
  std::size_t high_water = 0;
  std::size_t low_water = 0;
  std::size_t write_chunk = 0;
  std::size_t written = 0;
  std::size_t most_write_buffered = 0;
  bool drain_timed_out = false;
  std::size_t write_buffered_at_timeout = 0;
  bool paused_at_timeout = false;
  costream::error_code drain_after_abort;
  bool closing_after_abort = false;
  bool flood_done = false;

  // a peer that went away
  int write_threw = 0;
  int writes_to_gone_peer = 0;
  costream::error_code gone_drain;
  costream::error_code gone_write_after;
  costream::error_code gone_wait_closed;
  bool gone_done = false;
};

std::string what(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown";
  }
}

void note_error(service_log& log, const costream::error_code& ec) {
  log.errors.push_back(ec);
  ++log.error_counts[ec.message()];
}

// Samples the reader's buffer while *running: how much it holds and
// whether it holds storage at all (string_view::data() is null only for a
// buffer without storage). Runs on the connection's strand, every
// millisecond, or with log->spin_sampling at every turn of the executor, so
// that it sees the buffer at each point where the reading coroutine yields.
asio::awaitable<void> sample_buffer(std::shared_ptr<service_log> log, stream_reader reader,
                                    std::shared_ptr<bool> running) {
  auto executor = co_await asio::this_coro::executor;
  asio::steady_timer timer(executor);
  while (*running) {
    ++log->samples;
    log->most_buffered = std::max(log->most_buffered, reader.buffered().size());
    if (reader.buffered().data() != nullptr) ++log->allocated_samples;
    if (reader.buffered().empty())
      log->largest_idle_storage = std::max(log->largest_idle_storage, reader.protocol()->read_buffer_capacity());
    if (log->spin_sampling) {
      co_await asio::post(executor, asio::use_awaitable);
    } else {
      timer.expires_after(1ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }
}

// The line service: answers "OK <line>" to each line read within
// `line_timeout`; answers an over-long line with an error and goes on;
// closes a connection whose line does not come in time.
asio::awaitable<void> line_service(std::shared_ptr<service_log> log, std::chrono::milliseconds line_timeout,
                                   stream_reader reader, stream_writer writer) {
  auto sampling = std::make_shared<bool>(true);
  asio::co_spawn(writer.get_executor(), sample_buffer(log, reader, sampling), asio::detached);
  for (;;) {
    std::string line;
    costream::error_code failure;
    std::size_t consumed = 0;
    try {
      line = co_await with_timeout(reader.readline(), line_timeout);
    } catch (const limit_overrun_error& e) {
      failure = e.code();
      consumed = e.consumed();
    } catch (const costream::system_error& e) {
      failure = e.code();
    }
    if (failure == errc::line_too_long) {
      ++log->overruns;
      log->overrun_code = failure;
      log->overrun_consumed = consumed;
      log->buffered_after_overrun = reader.buffered().size();
      writer.write("ERR line too long: " + std::to_string(consumed) + " bytes\n");
      co_await with_timeout(writer.drain(), 5s);
      continue;
    }
    if (failure == errc::timed_out) {
      const std::string_view held = reader.buffered();
      ++log->timeouts;
      log->most_buffered_at_timeout = std::max(log->most_buffered_at_timeout, held.size());
      log->least_buffered_at_timeout = std::min(log->least_buffered_at_timeout, held.size());
      if (held.find_first_not_of('x') != std::string_view::npos) log->timeout_buffer_intact = false;
      if (reader.protocol()->read_buffer_capacity() != 0) ++log->allocated_at_timeout;
      writer.write("ERR timeout\n");
      writer.close();
      break;
    }
    if (failure) {
      note_error(*log, failure);
      break;
    }
    if (line.empty()) break;  // end of stream
    ++log->lines_served;
    writer.write("OK " + line);
    co_await with_timeout(writer.drain(), 5s);
  }
  *sampling = false;
}

// Writes 16 KiB at a time to a peer that does not read, draining after each
// write under a deadline; when a drain times out, aborts the connection.
asio::awaitable<void> flood(std::shared_ptr<service_log> log, stream_writer writer) {
  // Small kernel buffers, so that the writer's own buffer fills soon.
  writer.stream().set_option(asio::socket_base::send_buffer_size(16 * KiB));
  const std::string chunk(16 * KiB, 'y');
  log->write_chunk = chunk.size();
  std::tie(log->high_water, log->low_water) = writer.get_write_buffer_limits();
  for (int i = 0; i < 20000 && !log->drain_timed_out; ++i) {  // 320 MiB at most: never reached
    writer.write(chunk);
    log->written += chunk.size();
    log->most_write_buffered = std::max(log->most_write_buffered, writer.get_write_buffer_size());
    costream::error_code ec;
    co_await with_timeout(writer.drain(), 500ms, ec);
    if (ec == errc::timed_out) {
      log->drain_timed_out = true;
      log->write_buffered_at_timeout = writer.get_write_buffer_size();
      log->paused_at_timeout = writer.protocol().is_writing_paused();
    }
  }
  writer.protocol().abort();
  costream::error_code after;
  co_await writer.drain(after);
  log->drain_after_abort = after;
  log->closing_after_abort = writer.is_closing();
  log->flood_done = true;
}

// Writes to a peer that has closed or reset its socket after saying "go":
// write() must neither throw nor raise SIGPIPE, and drain() reports the loss.
asio::awaitable<void> write_to_gone_peer(std::shared_ptr<service_log> log, stream_writer writer) {
  writer.write("ready\n");
  co_await with_timeout(writer.drain(), 5s);
  const std::string chunk(1 * KiB, 'z');
  costream::error_code drained;
  for (int i = 0; i < 400 && !drained; ++i) {  // 2 s at most; the loss shows within a few writes
    try {
      writer.write(chunk);
      ++log->writes_to_gone_peer;
    } catch (const std::exception&) {
      ++log->write_threw;
    }
    co_await test::sleep_for(5ms);
    co_await writer.drain(drained);
  }
  log->gone_drain = drained;
  writer.write(chunk, log->gone_write_after);  // dropped, as asyncio's: not an error
  co_await writer.wait_closed(log->gone_wait_closed);
  log->gone_done = true;
}

// The first line picks the behaviour: "flood" and "go" for the write tests,
// anything else is served by line_service.
asio::awaitable<void> dispatch_service(std::shared_ptr<service_log> log, stream_reader reader,
                                       stream_writer writer) {
  ++log->started;
  const std::string first = co_await with_timeout(reader.readline(), 5s);
  if (first == "flood\n") {
    co_await flood(log, writer);
  } else if (first == "go\n") {
    co_await write_to_gone_peer(log, writer);
  } else if (!first.empty()) {
    ++log->lines_served;
    writer.write("OK " + first);
    co_await with_timeout(writer.drain(), 5s);
    co_await line_service(log, 5s, reader, writer);
  }
  ++log->finished;
}

// Reads "hello", answers "ok", then reads on while the peer sends part of a
// line and resets the connection.
asio::awaitable<void> reset_service(std::shared_ptr<service_log> log, stream_reader reader, stream_writer writer) {
  ++log->started;
  auto sampling = std::make_shared<bool>(true);
  asio::co_spawn(writer.get_executor(), sample_buffer(log, reader, sampling), asio::detached);
  const std::string hello = co_await with_timeout(reader.readline(), 5s);
  if (hello == "hello\n") {
    writer.write("ok\n");
    co_await with_timeout(writer.drain(), 5s);
    try {
      const std::string line = co_await with_timeout(reader.readline(), 5s);
      if (!line.empty()) ++log->lines_served;
    } catch (const costream::system_error& e) {
      log->reset_read_error = e.code();
    }
    if (log->reset_read_error) {
      // Documented: the bytes received before the error stay readable with read(n).
      log->buffered_after_reset = std::string(reader.buffered());
      log->read_after_reset = co_await reader.read(100, log->second_read_error);
      if (!log->second_read_error) {
        const std::string nothing = co_await reader.read(100, log->second_read_error);
        log->read_after_reset += nothing;
      }
      co_await writer.drain(log->drain_after_reset);
    }
  }
  *sampling = false;
  ++log->finished;
}

// Reads lines to end of stream, then answers with a summary and 256 KiB.
asio::awaitable<void> half_close_service(std::shared_ptr<service_log> log, stream_reader reader,
                                         stream_writer writer) {
  ++log->started;
  int lines = 0;
  std::size_t bytes = 0;
  for (;;) {
    const std::string line = co_await with_timeout(reader.readline(), 5s);
    if (line.empty()) break;
    ++lines;
    bytes += line.size();
  }
  log->saw_eof = reader.at_eof();
  writer.write("got " + std::to_string(lines) + " lines, " + std::to_string(bytes) + " bytes\n");
  writer.write(test::pattern(256 * KiB));
  writer.write("bye\n");
  co_await with_timeout(writer.drain(), 5s);
  ++log->finished;
}

// One line under a short deadline; every error is caught and counted.
asio::awaitable<void> storm_service(std::shared_ptr<service_log> log, stream_reader reader, stream_writer writer) {
  ++log->started;
  costream::error_code failure;
  std::string line;
  try {
    line = co_await with_timeout(reader.readline(), 2s);
  } catch (const costream::system_error& e) {
    failure = e.code();
  }
  if (!failure && !line.empty()) {
    ++log->lines_served;
    writer.write("OK " + line);
    co_await writer.drain(failure);
  }
  if (failure) note_error(*log, failure);
  ++log->finished;
}

using callback_type = std::function<asio::awaitable<void>(stream_reader, stream_writer)>;

// Callbacks made outside any co_await expression (g++ 12, see README).
asio::awaitable<void> counted_line_service(std::shared_ptr<service_log> log, std::chrono::milliseconds line_timeout,
                                           stream_reader reader, stream_writer writer) {
  ++log->started;
  co_await line_service(log, line_timeout, reader, writer);
  ++log->finished;
}

callback_type line_callback(std::shared_ptr<service_log> log, std::chrono::milliseconds line_timeout) {
  return [log, line_timeout](stream_reader r, stream_writer w) { return counted_line_service(log, line_timeout, r, w); };
}

template <class Service>
callback_type callback_for(std::shared_ptr<service_log> log, Service service) {
  return [log, service](stream_reader r, stream_writer w) { return service(log, r, w); };
}

server_error_handler log_escapes(std::shared_ptr<service_log> log) {
  return [log](std::exception_ptr e) { log->escaped.push_back(what(e)); };
}

// A well-behaved costream client: `count` lines, each answered "OK <line>".
// Returns how many answers were right.
asio::awaitable<int> well_behaved_client(std::uint16_t port, int count) {
  const tcp::endpoint endpoint(test::loopback_v4(), port);
  auto [reader, writer] = co_await open_connection(endpoint);
  int good = 0;
  for (int i = 0; i < count; ++i) {
    const std::string line = "hello " + std::to_string(i) + "\n";
    writer.write(line);
    const std::string answer = co_await with_timeout(reader.readline(), 5s);
    if (answer == "OK " + line) ++good;
  }
  writer.close();
  costream::error_code ignored;  // how the connection ended is not this client's concern
  co_await writer.wait_closed(ignored);
  co_return good;
}

// Sends one byte every 3 ms (no newline, ever) until the connection fails
// or *stop is set; counts what it sent.
asio::awaitable<void> trickle(tcp::socket& peer, std::shared_ptr<bool> stop, std::shared_ptr<std::size_t> sent) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int i = 0; i < 3000 && !*stop; ++i) {  // 9 s at most
    auto [ec, n] = co_await asio::async_write(peer, asio::buffer("x", 1), compat::use_tuple);
    if (ec) break;
    *sent += n;
    timer.expires_after(3ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

// Connects one raw peer of the storm into its slot.
asio::awaitable<void> connect_into(std::shared_ptr<std::vector<std::optional<tcp::socket>>> sockets, std::size_t i,
                                   std::uint16_t port) {
  tcp::socket s = co_await test::raw_connect(port);
  (*sockets)[i].emplace(std::move(s));
}

// Sends `size` bytes of 'x' in 16 KiB pieces a millisecond apart (the
// server reads each as it comes and waits for the next, which lets the
// sampler see the buffer while readline scans), then "\nafter\n".
asio::awaitable<void> send_long_line(tcp::socket& peer, std::size_t size, bool& sent) {
  const std::string piece(16 * KiB, 'x');
  for (std::size_t done = 0; done < size; done += piece.size()) {
    co_await asio::async_write(peer, asio::buffer(piece), asio::use_awaitable);
    co_await test::sleep_for(1ms);
  }
  co_await asio::async_write(peer, asio::buffer(std::string_view("\nafter\n")), asio::use_awaitable);
  sent = true;
}

// Closes the server and waits (bounded) for every client callback to return.
asio::awaitable<bool> close_and_wait(server& srv) {
  srv.close();
  costream::error_code ec;
  co_await with_timeout(srv.wait_closed(), 10s, ec);
  co_return !ec;
}

}  // namespace

TEST_CASE("a line longer than the limit is rejected in bounded memory and the connection and server go on",
          "[hostile]") {
  auto log = std::make_shared<service_log>();
  log->spin_sampling = true;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    server_options options;
    options.limit = 256 * KiB;
    auto callback = line_callback(log, 5s);
    auto srv = co_await start_server(callback, "127.0.0.1", 0, options);
    srv.set_error_handler(log_escapes(log));
    const std::uint16_t port = srv.sockets()[0].port();

    tcp::socket peer = co_await test::raw_connect(port);
    std::string pending;
    costream::error_code ec;
    co_await asio::async_write(peer, asio::buffer(std::string_view("short\n")), asio::use_awaitable);
    const std::string first = co_await test::raw_readline(peer, pending, ec);
    CHECK(first == "OK short\n");

    // 1 MiB without a newline, then the newline and a good line.
    const std::size_t long_line = 1 * MiB;
    bool sent = false;
    bool sender_done = false;
    std::exception_ptr sender_failure;
    asio::co_spawn(executor, send_long_line(peer, long_line, sent), [&](std::exception_ptr e) {
      sender_failure = e;
      sender_done = true;
    });

    // Another client is served while the long line streams in.
    const int good = co_await well_behaved_client(port, 5);
    CHECK(good == 5);

    const std::string rejected = co_await test::raw_readline(peer, pending, ec);
    CHECK(rejected == "ERR line too long: " + std::to_string(long_line) + " bytes\n");
    const std::string after = co_await test::raw_readline(peer, pending, ec);
    CHECK(after == "OK after\n");  // the same connection goes on
    std::function<bool()> sender_over = [&] { return sender_done; };
    const bool over = co_await test::eventually(sender_over, 10s);
    CHECK(over);
    CHECK(sent);
    if (sender_failure) std::rethrow_exception(sender_failure);

    // And the server serves new clients afterwards.
    const int good_after = co_await well_behaved_client(port, 3);
    CHECK(good_after == 3);

    peer.close();
    const bool closed = co_await close_and_wait(srv);
    CHECK(closed);
  });
  INFO("escaped: " << (log->escaped.empty() ? std::string("none") : log->escaped.front()));
  CHECK(log->escaped.empty());
  CHECK(log->errors.empty());
  CHECK(log->overruns == 1);
  CHECK(log->overrun_code == errc::line_too_long);
  CHECK(log->overrun_consumed == 1 * MiB);  // the whole line, newline not counted
  INFO("most buffered: " << log->most_buffered << " bytes in " << log->samples << " samples; after the overrun: "
                         << log->buffered_after_overrun);
  CHECK(log->samples > 0);
  CHECK(log->most_buffered > 16 * KiB);  // the sampler saw readline's scan holding data
  CHECK(log->most_buffered <= 256 * KiB + read_chunk);  // limit + one chunk while readline scans
  CHECK(log->buffered_after_overrun <= 256 * KiB + read_chunk);
  CHECK(log->lines_served == 1 + 1 + 5 + 3);
  CHECK(log->started == 3);
  CHECK(log->finished == 3);
}

TEST_CASE("a slowloris peer is closed by the read timeout in bounded memory while others are served",
          "[hostile]") {
  auto log = std::make_shared<service_log>();
  auto stop = std::make_shared<bool>(false);
  auto sent = std::make_shared<std::size_t>(0);
  std::string reply;
  costream::error_code end;
  std::chrono::milliseconds open_for{0};
  bool others_served_meanwhile = false;
  int good = 0;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto callback = line_callback(log, 1s);  // a whole line must come within 1 s
    auto srv = co_await start_server(callback, "127.0.0.1", 0);
    srv.set_error_handler(log_escapes(log));
    const std::uint16_t port = srv.sockets()[0].port();

    const auto opened = std::chrono::steady_clock::now();
    tcp::socket peer = co_await test::raw_connect(port);
    bool trickle_done = false;
    asio::co_spawn(executor, trickle(peer, stop, sent), [&](std::exception_ptr) { trickle_done = true; });

    // Others are served while the slow line trickles in.
    std::function<bool()> trickling = [&] { return *sent >= 10; };
    const bool started = co_await test::eventually(trickling, 5s);
    CHECK(started);
    good = co_await well_behaved_client(port, 5);
    others_served_meanwhile = log->timeouts == 0;

    // The server answers the timeout and closes; the peer sees the end.
    std::string pending;
    costream::error_code ec;
    reply = co_await test::raw_readline(peer, pending, ec);
    if (!ec) {
      const std::string rest = co_await test::raw_read_to_end(peer, end);
      reply += rest;
    } else {
      end = ec;
    }
    open_for = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - opened);
    *stop = true;
    std::function<bool()> trickle_over = [&] { return trickle_done; };
    const bool over = co_await test::eventually(trickle_over, 5s);
    CHECK(over);
    peer.close();

    const int good_after = co_await well_behaved_client(port, 2);
    CHECK(good_after == 2);
    const bool closed = co_await close_and_wait(srv);
    CHECK(closed);
  });
  INFO("slowloris sent " << *sent << " bytes; connection open for " << open_for.count() << " ms; reply \"" << reply
                         << "\"; end: " << end.message());
  CHECK(good == 5);
  CHECK(others_served_meanwhile);
  CHECK(log->timeouts == 1);
  // The reply may be lost if the close carries a reset (unread trickle bytes); the end is never silent.
  CHECK((end == asio::error::eof || end == asio::error::connection_reset));
  CHECK((reply == "ERR timeout\n" || reply.empty()));
  CHECK(open_for < 8s);  // generous: the deadline is 1 s
  // A timed-out read consumed nothing: what arrived is still buffered, untouched, and bounded.
  INFO("buffered at the timeout: " << log->most_buffered_at_timeout << "; most buffered: " << log->most_buffered);
  CHECK(log->least_buffered_at_timeout > 0);
  CHECK(log->most_buffered_at_timeout <= *sent);
  CHECK(log->timeout_buffer_intact);
  CHECK(log->most_buffered <= COSTREAM_DEFAULT_LIMIT + read_chunk);
  CHECK(log->escaped.empty());
  CHECK(log->errors.empty());
  CHECK(log->started == 3);
  CHECK(log->finished == 3);
}

TEST_CASE("a peer that resets mid-line: the callback sees connection_reset and still reads the bytes received",
          "[hostile]") {
  auto log = std::make_shared<service_log>();
  test::run([&]() -> asio::awaitable<void> {
    auto callback = callback_for(log, reset_service);
    auto srv = co_await start_server(callback, "127.0.0.1", 0);
    srv.set_error_handler(log_escapes(log));
    const std::uint16_t port = srv.sockets()[0].port();

    tcp::socket peer = co_await test::raw_connect(port);
    std::string pending;
    costream::error_code ec;
    co_await asio::async_write(peer, asio::buffer(std::string_view("hello\n")), asio::use_awaitable);
    const std::string ok = co_await test::raw_readline(peer, pending, ec);
    CHECK(ok == "ok\n");
    const std::string_view partial = "partial line, no newline";
    co_await asio::async_write(peer, asio::buffer(partial), asio::use_awaitable);
    // Reset once the server's reader holds the partial line (its sampler saw it).
    std::function<bool()> received = [&] { return log->most_buffered >= partial.size(); };
    const bool arrived = co_await test::eventually(received, 5s);
    CHECK(arrived);
    test::reset(peer);

    const bool closed = co_await close_and_wait(srv);
    CHECK(closed);
  });
  INFO("readline: " << log->reset_read_error.message() << "; second read: " << log->second_read_error.message()
                    << "; drain: " << log->drain_after_reset.message());
  CHECK(log->reset_read_error == asio::error::connection_reset);
  CHECK(log->buffered_after_reset == "partial line, no newline");
  CHECK(log->read_after_reset == "partial line, no newline");  // buffered bytes first
  CHECK(log->second_read_error == asio::error::connection_reset);  // then the error
  CHECK(log->drain_after_reset == asio::error::connection_reset);
  CHECK(log->lines_served == 0);
  CHECK(log->escaped.empty());
  CHECK(log->finished == 1);
}

TEST_CASE("a peer that half-closes and keeps reading: the server reads end of stream and its reply arrives",
          "[hostile]") {
  auto log = std::make_shared<service_log>();
  std::string got;
  costream::error_code end;
  test::run([&]() -> asio::awaitable<void> {
    auto callback = callback_for(log, half_close_service);
    auto srv = co_await start_server(callback, "127.0.0.1", 0);
    srv.set_error_handler(log_escapes(log));

    tcp::socket peer = co_await test::raw_connect(srv.sockets()[0].port());
    co_await asio::async_write(peer, asio::buffer(std::string_view("one\ntwo\nthree\n")), asio::use_awaitable);
    peer.shutdown(tcp::socket::shutdown_send);
    got = co_await test::raw_read_to_end(peer, end);

    const bool closed = co_await close_and_wait(srv);
    CHECK(closed);
  });
  CHECK(log->saw_eof);
  CHECK(end == asio::error::eof);
  const std::string expected = "got 3 lines, 14 bytes\n" + test::pattern(256 * KiB) + "bye\n";
  CHECK(got.size() == expected.size());
  const bool intact = got == expected;
  CHECK(intact);
  CHECK(log->escaped.empty());
  CHECK(log->finished == 1);
}

TEST_CASE("a peer that never reads: drain blocks at the high-water mark, a drain timeout frees the callback to abort",
          "[hostile]") {
  auto log = std::make_shared<service_log>();
  std::size_t peer_got = 0;
  costream::error_code peer_end;
  int good = 0;
  test::run([&]() -> asio::awaitable<void> {
    auto callback = callback_for(log, dispatch_service);
    auto srv = co_await start_server(callback, "127.0.0.1", 0);
    srv.set_error_handler(log_escapes(log));
    const std::uint16_t port = srv.sockets()[0].port();

    tcp::socket peer = co_await test::raw_connect(port, 16 * KiB);
    co_await asio::async_write(peer, asio::buffer(std::string_view("flood\n")), asio::use_awaitable);
    std::function<bool()> flooding = [&] { return log->written > 0; };
    const bool started = co_await test::eventually(flooding, 5s);
    CHECK(started);
    good = co_await well_behaved_client(port, 3);  // served while the flood callback waits in drain

    std::function<bool()> aborted = [&] { return log->flood_done; };
    const bool done = co_await test::eventually(aborted, 10s);
    CHECK(done);
    // Only now does the peer read: what the kernels held, then the end.
    const std::string all = co_await test::raw_read_to_end(peer, peer_end);
    peer_got = all.size();

    const bool closed = co_await close_and_wait(srv);
    CHECK(closed);
  });
  INFO("written " << log->written << " bytes; most buffered " << log->most_write_buffered << "; at the timeout "
                  << log->write_buffered_at_timeout << "; high/low " << log->high_water << "/" << log->low_water
                  << "; the peer read " << peer_got << " bytes, then " << peer_end.message());
  CHECK(good == 3);
  CHECK(log->drain_timed_out);
  CHECK(log->paused_at_timeout);
  CHECK(log->write_buffered_at_timeout > log->low_water);
  // Never more than the high-water mark plus the one write that crossed it.
  CHECK(log->most_write_buffered <= log->high_water + log->write_chunk);
  CHECK(log->written <= 64 * MiB);  // the kernels absorb a bounded amount, then drain blocks
  CHECK(log->drain_after_abort == errc::connection_lost);
  CHECK(log->closing_after_abort);
  CHECK(peer_got <= log->written);
  CHECK((peer_end == asio::error::eof || peer_end == asio::error::connection_reset));
  CHECK(log->escaped.empty());
  CHECK(log->errors.empty());
  CHECK(log->started == 2);
  CHECK(log->finished == 2);
}

TEST_CASE("peers that connect and send nothing are closed by a first-byte timeout and hold a small input block at most",
          "[hostile]") {
  constexpr int idle_peers = 20;
  auto log = std::make_shared<service_log>();
  std::vector<std::string> replies;
  std::vector<costream::error_code> ends;
  int idle_samples = 0;
  std::size_t idle_storage = 0;
  test::run([&]() -> asio::awaitable<void> {
    auto callback = line_callback(log, 300ms);
    auto srv = co_await start_server(callback, "127.0.0.1", 0);
    srv.set_error_handler(log_escapes(log));
    const std::uint16_t port = srv.sockets()[0].port();

    std::vector<tcp::socket> peers;
    for (int i = 0; i < idle_peers; ++i) peers.push_back(co_await test::raw_connect(port));
    for (auto& peer : peers) {
      costream::error_code end;
      std::string got = co_await test::raw_read_to_end(peer, end);
      replies.push_back(std::move(got));
      ends.push_back(end);
    }
    // Every idle connection is over (and its sampler with it); a busy one now.
    idle_samples = log->samples;
    idle_storage = log->largest_idle_storage;
    const int good = co_await well_behaved_client(port, 2);
    CHECK(good == 2);
    const bool closed = co_await close_and_wait(srv);
    CHECK(closed);
  });
  REQUIRE(replies.size() == static_cast<std::size_t>(idle_peers));
  for (int i = 0; i < idle_peers; ++i) {
    INFO("peer " << i);
    CHECK(replies[static_cast<std::size_t>(i)] == "ERR timeout\n");
    CHECK(ends[static_cast<std::size_t>(i)] == asio::error::eof);
  }
  CHECK(log->timeouts == idle_peers);
  // An idle reader holds no input storage, while its read waits and after it timed out.
  INFO(idle_samples << " samples of idle readers, the largest held " << idle_storage << " bytes");
  CHECK(idle_samples > 0);
  CHECK(idle_storage == 0);
  CHECK(log->most_buffered_at_timeout == 0);
  CHECK(log->allocated_at_timeout == 0);
  CHECK(log->escaped.empty());
  CHECK(log->finished == idle_peers + 1);
}

TEST_CASE("writes to a peer that has gone away neither throw nor raise SIGPIPE, and drain reports the loss",
          "[hostile]") {
  for (const bool by_reset : {false, true}) {
    INFO((by_reset ? "the peer reset" : "the peer closed"));
    {
      test::sigpipe_counter sigpipes;
      auto log = std::make_shared<service_log>();
      int good = 0;
      test::run([&]() -> asio::awaitable<void> {
        auto callback = callback_for(log, dispatch_service);
        auto srv = co_await start_server(callback, "127.0.0.1", 0);
        srv.set_error_handler(log_escapes(log));
        const std::uint16_t port = srv.sockets()[0].port();

        tcp::socket peer = co_await test::raw_connect(port);
        co_await asio::async_write(peer, asio::buffer(std::string_view("go\n")), asio::use_awaitable);
        std::string pending;
        costream::error_code ec;
        const std::string ready = co_await test::raw_readline(peer, pending, ec);
        CHECK(ready == "ready\n");
        if (by_reset) {
          test::reset(peer);
        } else {
          peer.close();
        }
        std::function<bool()> gone = [&] { return log->gone_done; };
        const bool done = co_await test::eventually(gone, 10s);
        CHECK(done);
        good = co_await well_behaved_client(port, 3);  // the server goes on
        const bool closed = co_await close_and_wait(srv);
        CHECK(closed);
      });
      INFO("drain: " << log->gone_drain.message() << " after " << log->writes_to_gone_peer
                     << " writes; wait_closed: " << log->gone_wait_closed.message());
      CHECK(sigpipes.raised() == 0);
      CHECK(log->write_threw == 0);
      CHECK(test::is_peer_gone(log->gone_drain));
      CHECK_FALSE(log->gone_write_after);
      CHECK(log->gone_wait_closed == log->gone_drain);
      CHECK(good == 3);
      CHECK(log->escaped.empty());
      CHECK(log->finished == 2);
    }
  }
}

TEST_CASE("a storm of 500 connections that close at once leaks no descriptor and the server goes on",
          "[hostile]") {
  test::fd_limit_raised fd_limit;
  std::size_t storm = 500;
  const std::size_t baseline = test::count_open_fds();
  if (fd_limit.limit() < baseline + 2 * storm + 64) {
    storm = (fd_limit.limit() - baseline - 64) / 2;
    WARN("RLIMIT_NOFILE is " << fd_limit.limit() << ": the storm is cut to " << storm << " connections");
  }
  auto log = std::make_shared<service_log>();
  std::size_t fds_before = 0;
  std::size_t fds_after = 0;
  std::size_t connected = 0;
  std::vector<std::string> connect_errors;
  int good = 0;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    fds_before = test::count_open_fds();
    server_options options;
    options.backlog = 1024;
    auto callback = callback_for(log, storm_service);
    auto srv = co_await start_server(callback, "127.0.0.1", 0, options);
    srv.set_error_handler(log_escapes(log));
    const std::uint16_t port = srv.sockets()[0].port();

    // Every connect at once.
    auto sockets = std::make_shared<std::vector<std::optional<tcp::socket>>>(storm);
    std::size_t connects_done = 0;
    for (std::size_t i = 0; i < storm; ++i) {
      asio::co_spawn(executor, connect_into(sockets, i, port), [&](std::exception_ptr e) {
        ++connects_done;
        if (e) connect_errors.push_back(what(e));
      });
    }
    std::function<bool()> all_connected = [&] { return connects_done == storm; };
    const bool connects_over = co_await test::eventually(all_connected, 20s);
    CHECK(connects_over);

    // Then every one goes at once, four ways: a clean close, a reset, part
    // of a line then a reset, a full line then a close without reading.
    for (std::size_t i = 0; i < storm; ++i) {
      auto& s = (*sockets)[i];
      if (!s) continue;
      ++connected;
      costream::error_code ignored;
      switch (i % 4) {
        case 0: s->close(ignored); break;
        case 1: test::reset(*s); break;
        case 2:
          s->write_some(asio::buffer(std::string_view("partial")), ignored);
          test::reset(*s);
          break;
        default:
          s->write_some(asio::buffer(std::string_view("line\n")), ignored);
          s->close(ignored);
          break;
      }
    }
    sockets->clear();

    good = co_await well_behaved_client(port, 1);  // the server still serves (one line per connection)
    const bool closed = co_await close_and_wait(srv);
    CHECK(closed);
    // Closing is asynchronous in places (a last handle posts its close): wait, bounded.
    std::function<bool()> released = [&] { return test::count_open_fds() <= fds_before + 4; };
    const bool back = co_await test::eventually(released, 5s);
    fds_after = test::count_open_fds();
    CHECK(back);
  }, 60s);
  std::string handled;
  for (const auto& [message, count] : log->error_counts) handled += message + " x" + std::to_string(count) + "; ";
  INFO("connected " << connected << " of " << storm << "; callbacks started " << log->started << ", finished "
                    << log->finished << "; lines " << log->lines_served << "; handled errors: " << handled
                    << "fds before " << fds_before << ", after " << fds_after);
  INFO("first connect error: " << (connect_errors.empty() ? std::string("none") : connect_errors.front()));
  INFO("first escaped: " << (log->escaped.empty() ? std::string("none") : log->escaped.front()));
  CHECK(connect_errors.empty());
  CHECK(connected == storm);
  CHECK(good == 1);
  CHECK(log->escaped.empty());  // every callback error was caught and reported by the callback
  CHECK(log->started == log->finished);
  CHECK(log->started >= 1);
  CHECK(fds_after <= fds_before + 4);
}
