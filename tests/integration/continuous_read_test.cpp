// tests/integration/continuous_read_test.cpp: a connection learns of its peer's close or reset
// while its handler awaits something else, as asyncio's does; compared with asyncio itself.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"
#include "support/units.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <array>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>

using namespace costream;
using namespace std::chrono_literals;

namespace {

using outcomes = std::map<std::string, std::string>;

// Runs asyncio_close_detection.py (bounded by `timeout`) and returns its
// "scenario.key=value" lines.
outcomes asyncio_outcomes() {
  const std::string command = std::string("timeout 30 ") + COSTREAM_TEST_PYTHON + " " + COSTREAM_TEST_SCRIPTS_DIR +
                              "/asyncio_close_detection.py";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string text;
  std::array<char, 256> chunk{};
  while (std::fgets(chunk.data(), static_cast<int>(chunk.size()), pipe) != nullptr) text += chunk.data();
  const int status = ::pclose(pipe);
  INFO(text);
  REQUIRE(status == 0);
  outcomes result;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) result[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return result;
}

// What an awaited operation ended with, in the script's words.
template <class Op>
asio::awaitable<std::string> outcome_of(Op op) {
  try {
    co_await std::move(op);
    co_return "ok";
  } catch (const costream::system_error& e) {
    if (e.code() == errc::timed_out) co_return "timeout";
    if (is_errc(e.code(), std::errc::connection_reset)) co_return "connection_reset";
    co_return e.code().message();
  }
}

asio::awaitable<std::string> read_outcome(stream_reader& reader) {
  try {
    const std::string data = co_await reader.read(100);
    co_return data.empty() ? "end" : "data";
  } catch (const costream::system_error& e) {
    if (is_errc(e.code(), std::errc::connection_reset)) co_return "connection_reset";
    co_return e.code().message();
  }
}

// A server whose handler awaits a timer for 150 ms, never its socket, then
// records what its connection knows; `peer` acts on the client socket 50 ms in.
template <class Handler, class Peer>
void serve_one(Handler handler, Peer peer) {
  test::run([&]() -> asio::awaitable<void> {
    bool done = false;
    auto server = co_await start_server(
        [&](stream_reader reader, stream_writer writer) -> asio::awaitable<void> {
          co_await test::sleep_for(150ms);
          co_await handler(reader, writer);
          done = true;
        },
        "127.0.0.1", 0);
    asio::ip::tcp::socket client(co_await asio::this_coro::executor);
    co_await client.async_connect(server.sockets()[0], asio::use_awaitable);
    co_await test::sleep_for(50ms);
    co_await peer(client);
    const bool finished = co_await test::eventually([&] { return done; }, 5s);
    CHECK(finished);
  });
}

}  // namespace

TEST_CASE("a handler awaiting a timer learns of a peer's reset and close at once, as asyncio's does",
          "[connection][python]") {
  const outcomes asyncio = asyncio_outcomes();
  outcomes costream;

  // Reset (SO_LINGER 0) 50 ms in; the handler looks 100 ms after it.
  serve_one(
      [&](stream_reader& reader, stream_writer& writer) -> asio::awaitable<void> {
        costream["reset.is_closing"] = writer.is_closing() ? "true" : "false";
        const std::string closed = co_await outcome_of(with_timeout(writer.wait_closed(), 1ms));
        costream["reset.wait_closed"] = closed == "ok" ? "completed" : closed;
        costream["reset.read"] = co_await read_outcome(reader);
        writer.write("x");
        costream["reset.drain"] = co_await outcome_of(writer.drain());
      },
      [](asio::ip::tcp::socket& client) -> asio::awaitable<void> {
        test::reset(client);
        co_return;
      });

  // Close (FIN) 50 ms in: end of stream for the reader, the connection stays writable.
  serve_one(
      [&](stream_reader& reader, stream_writer& writer) -> asio::awaitable<void> {
        costream["fin.at_eof"] = reader.at_eof() ? "true" : "false";
        costream["fin.is_closing"] = writer.is_closing() ? "true" : "false";
        const std::string closed = co_await outcome_of(with_timeout(writer.wait_closed(), 50ms));
        costream["fin.wait_closed"] = closed == "ok" ? "completed" : closed;
        writer.write("still writable\n");
        co_await writer.drain();
        costream["fin.read"] = co_await read_outcome(reader);
        writer.close();
      },
      [&](asio::ip::tcp::socket& client) -> asio::awaitable<void> {
        client.shutdown(asio::socket_base::shutdown_send);
        std::string got;
        co_await asio::async_read(client, asio::dynamic_buffer(got), asio::transfer_at_least(15), asio::use_awaitable);
        costream["fin.peer_got"] = got.substr(0, got.find('\n'));
      });

  // A drain waiting (writing paused, the peer reads nothing) when the connection is aborted.
  serve_one(
      [&](stream_reader&, stream_writer& writer) -> asio::awaitable<void> {
        writer.set_write_buffer_limits(1024);
        writer.write(std::string(8 * MiB, 'x'));
        auto executor = co_await asio::this_coro::executor;
        asio::co_spawn(
            executor,
            [&writer]() -> asio::awaitable<void> {
              co_await test::sleep_for(100ms);
              writer.protocol().abort();
            },
            asio::detached);
        const std::string waiting = co_await outcome_of(writer.drain());
        costream["drain.waiting_drain_after_abort"] = waiting == "ok" ? "returned" : waiting;
        const std::string after = co_await outcome_of(writer.drain());
        costream["drain.drain_after_loss"] = after == "ok" ? "returned" : after;
      },
      [](asio::ip::tcp::socket&) -> asio::awaitable<void> { co_return; });

  REQUIRE(asyncio.size() == 11);
  for (const auto& [key, value] : asyncio) {
    INFO(key << ": asyncio " << value << ", costream " << (costream.count(key) ? costream[key] : "(none)"));
    CHECK(costream[key] == value);
  }
}

TEST_CASE("a client no read waits on sees its peer's reset, and its close, within 100 ms", "[connection]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    test::raw_listener listener(executor);

    auto [reset_client, reset_peer] = co_await test::connect_to(listener);
    test::reset(reset_peer);
    costream::error_code ec;
    const bool closed = co_await test::completes_within(reset_client.writer.wait_closed(ec), 100ms);
    CHECK(closed);
    CHECK(is_errc(ec, std::errc::connection_reset));
    CHECK(reset_client.writer.is_closing());

    auto [fin_client, fin_peer] = co_await test::connect_to(listener);
    asio::write(fin_peer, asio::buffer(std::string("last words\n")));
    fin_peer.shutdown(asio::socket_base::shutdown_send);
    stream_reader& reader = fin_client.reader;
    const bool got_end = co_await test::eventually([&] { return reader.buffered() == "last words\n"; }, 100ms);
    CHECK(got_end);
    CHECK_FALSE(reader.at_eof());  // end of stream is seen once the buffer is drained
    const std::string line = co_await reader.readline();
    CHECK(line == "last words\n");
    CHECK(reader.at_eof());
    CHECK_FALSE(fin_client.writer.is_closing());
    fin_client.writer.write("reply\n");  // half-closed: the other direction still works
    co_await fin_client.writer.drain();
    std::string reply;
    co_await asio::async_read(fin_peer, asio::dynamic_buffer(reply), asio::transfer_exactly(6), asio::use_awaitable);
    CHECK(reply == "reply\n");
  });
}
