// tests/integration/error_code_ops_test.cpp: with_error_code gives every operation a no-throw form over real sockets.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>
#include <costream/with_error_code.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

using namespace std::chrono_literals;

namespace {

asio::awaitable<void> echo_once(costream::stream_reader reader, costream::stream_writer writer) {
  std::string line = co_await reader.readline();
  writer.write(line);
  co_await writer.drain();
}

}  // namespace

TEST_CASE("open_connection through with_error_code reports a refused connection as an error code",
          "[error_code][connection]") {
  costream::error_code ec;
  bool got_connection = true;
  const costream::test::refusing_port refusing("127.0.0.1");
  const auto port = refusing.endpoint().port();
  costream::test::run([&]() -> asio::awaitable<void> {
    auto op = costream::open_connection("127.0.0.1", port);
    auto connection = co_await costream::with_error_code(std::move(op), ec);
    got_connection = connection.has_value();
  });
  CHECK_FALSE(got_connection);
  CHECK(ec == asio::error::connection_refused);
}

TEST_CASE("start_server through with_error_code reports a port in use as an error code", "[error_code][server]") {
  costream::error_code first_ec, second_ec;
  bool second_started = true;
  std::string echoed;
  costream::test::run([&]() -> asio::awaitable<void> {
    costream::server_options options;
    options.reuse_address = false;
    auto first_op = costream::start_server(echo_once, "127.0.0.1", 0, options);
    auto first = co_await costream::with_error_code(std::move(first_op), first_ec);
    REQUIRE(first.has_value());
    const auto port = first->sockets()[0].port();
    auto second_op = costream::start_server(echo_once, "127.0.0.1", port, options);
    auto second = co_await costream::with_error_code(std::move(second_op), second_ec);
    second_started = second.has_value();
    // The first server is unharmed and serves.
    auto [reader, writer] = co_await costream::open_connection("127.0.0.1", port);
    writer.write("still here\n");
    echoed = co_await reader.readline();
    first->close();
    co_await first->wait_closed();
  });
  CHECK_FALSE(first_ec);
  CHECK_FALSE(second_started);
  CHECK(second_ec == asio::error::address_in_use);
  CHECK(echoed == "still here\n");
}

TEST_CASE("with_error_code on a void operation clears the code on success and sets it on failure",
          "[error_code][connection]") {
  costream::error_code drained, read_failed;
  std::optional<std::string> partial;
  costream::test::run([&]() -> asio::awaitable<void> {
    auto server = co_await costream::start_server(echo_once, "127.0.0.1", 0);
    auto [reader, writer] = co_await costream::open_connection("127.0.0.1", server.sockets()[0].port());
    writer.write("one line\n");
    drained = std::make_error_code(std::errc::io_error);  // must be cleared
    co_await costream::with_error_code(writer.drain(), drained);
    const std::string line = co_await reader.readline();
    CHECK(line == "one line\n");
    // The server closed after one line: readexactly meets end of stream.
    partial = co_await costream::with_error_code(reader.readexactly(10), read_failed);
    server.close();
    co_await server.wait_closed();
  });
  CHECK_FALSE(drained);
  CHECK(read_failed == costream::errc::incomplete_read);
  CHECK_FALSE(partial.has_value());
}

TEST_CASE("a coroutine on another strand writes to a connection by hopping onto its executor",
          "[threads][connection]") {
  // The documented way to write from elsewhere: dispatch to writer.get_executor()
  // (the connection's strand) and call write/drain there.
  asio::io_context io(2);
  std::string received;
  std::exception_ptr failure;
  asio::co_spawn(asio::make_strand(io), [&]() -> asio::awaitable<void> {
    auto server = co_await costream::start_server(echo_once, "127.0.0.1", 0);
    auto [reader, writer] = co_await costream::open_connection("127.0.0.1", server.sockets()[0].port());
    // A producer running on a strand of its own.
    auto producer = [writer]() mutable -> asio::awaitable<void> {
      co_await asio::dispatch(asio::bind_executor(writer.get_executor(), asio::use_awaitable));
      writer.write("from another strand\n");
      co_await writer.drain();
    };
    co_await asio::co_spawn(asio::make_strand(io), producer, asio::use_awaitable);
    received = co_await reader.readline();
    server.close();
    co_await server.wait_closed();
  }, [&](std::exception_ptr e) { failure = e; });
  std::thread other([&] { io.run_for(20s); });
  io.run_for(20s);
  other.join();
  if (failure) std::rethrow_exception(failure);
  CHECK(received == "from another strand\n");
}

TEST_CASE("write_eof, set_write_buffer_limits and read(-1) have the forms asyncio users expect",
          "[error_code][connection]") {
  costream::test::run([&]() -> asio::awaitable<void> {
    auto server = co_await costream::start_server(
        [](costream::stream_reader reader, costream::stream_writer writer) -> asio::awaitable<void> {
          // read(std::size_t(-1)) is asyncio's read(-1): everything to end of stream.
          const std::string all = co_await reader.read(costream::stream_reader::read_to_end);
          writer.write(std::to_string(all.size()) + "\n");
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await costream::open_connection("127.0.0.1", server.sockets()[0].port());

    costream::error_code ec = make_error_code(costream::errc::timed_out);  // must be cleared
    writer.set_write_buffer_limits(1024, 512, ec);
    CHECK_FALSE(ec);
    CHECK(writer.get_write_buffer_limits() == std::pair<std::size_t, std::size_t>(1024, 512));
    writer.set_write_buffer_limits(100, 200, ec);
    CHECK(ec == std::errc::invalid_argument);
    CHECK(writer.get_write_buffer_limits() == std::pair<std::size_t, std::size_t>(1024, 512));

    writer.write(std::string(3000, 'x'));
    writer.write_eof(ec);
    CHECK_FALSE(ec);
    const std::string count = co_await reader.readline();
    CHECK(count == "3000\n");

    // Through with_error_code, the library's argument errors are codes too.
    auto invalid = []() -> asio::awaitable<void> {
      throw std::invalid_argument("a setting the library refuses");
      co_return;
    };
    co_await costream::with_error_code(invalid(), ec);
    CHECK(ec == std::errc::invalid_argument);
  });
}
