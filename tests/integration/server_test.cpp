// tests/integration/server_test.cpp: start_server's server over TCP loopback: lifecycle, client callbacks, concurrency.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"
#include "support/units.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

using namespace costream;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// Reads a line; "boom" makes the callback throw, anything else is echoed.
asio::awaitable<void> echo_or_throw(stream_reader reader, stream_writer writer) {
  const std::string line = co_await reader.readline();
  if (line == "boom\n") throw std::runtime_error("boom");
  writer.write("echo:" + line);
}

std::string what(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown";
  }
}

// What a client callback that sends a large reply did, for the close_clients / abort_clients tests.
struct big_reply_state {
  std::size_t size = 16 * MiB;
  bool wrote = false;
  std::size_t unsent = 0;  // the writer's buffer just before the test closes the connection
  std::string line_after = "not read";
  bool returned = false;
};

// Sends state.size bytes to a client that does not read yet, then waits for
// a line that never comes: the connection ends only when the server closes it.
asio::awaitable<void> big_reply(big_reply_state& state, stream_reader reader, stream_writer writer) {
  // A small kernel buffer, so most of the reply stays in the writer's buffer.
  writer.stream().set_option(asio::socket_base::send_buffer_size(64 * KiB));
  writer.write(test::pattern(state.size));
  co_await test::sleep_for(100ms);  // the flush hands the kernel what it takes
  state.unsent = writer.get_write_buffer_size();
  state.wrote = true;
  state.line_after = co_await reader.readline();
  state.returned = true;
}

// Waits until the server serves, uses it once, then closes it.
asio::awaitable<void> use_then_close(server& srv, std::string& got, bool& was_serving) {
  was_serving = co_await test::eventually([&] { return srv.is_serving(); }, 5s);
  auto [reader, writer] = co_await open_connection(srv.sockets()[0]);
  writer.write("hi\n");
  got = co_await reader.readline();
  srv.close();
}

// One client of the concurrency tests: single lines, then a pipelined burst.
asio::awaitable<void> chatty_client(std::uint16_t port, int id, std::atomic<int>& good, std::atomic<int>& bad) {
  auto [reader, writer] = co_await open_connection("127.0.0.1", port);
  const std::string prefix = "client " + std::to_string(id) + " line ";
  for (int i = 0; i < 10; ++i) {
    const std::string line = prefix + std::to_string(i) + "\n";
    writer.write(line);
    co_await writer.drain();
    const std::string echoed = co_await reader.readline();
    ++(echoed == line ? good : bad);
  }
  for (int i = 10; i < 30; ++i) writer.write(prefix + std::to_string(i) + "\n");
  co_await writer.drain();
  for (int i = 10; i < 30; ++i) {
    const std::string echoed = co_await reader.readline();
    ++(echoed == prefix + std::to_string(i) + "\n" ? good : bad);
  }
  writer.write_eof();
  const std::string rest = co_await reader.read();
  ++(rest.empty() ? good : bad);
}

// Not a coroutine: a function returning one, which fails before it does
// (when the server calls it for a new connection).
asio::awaitable<void> refuse_before_starting(stream_reader, stream_writer) {
  throw std::logic_error("refused before starting");
}

// Connects two clients to a server whose callback fails, checks that each
// connection is closed, and returns what the error handler received (once
// it has two reports, or after test::eventually's timeout).
asio::awaitable<std::vector<std::string>> errors_of_two_clients(server& srv) {
  auto errors = std::make_shared<std::vector<std::string>>();
  srv.set_error_handler([errors](std::exception_ptr e) { errors->push_back(what(e)); });
  for (int i = 0; i < 2; ++i) {
    auto [reader, writer] = co_await open_connection("127.0.0.1", srv.sockets()[0].port());
    auto got = co_await reader.read();
    CHECK(got.empty());
  }
  const bool both = co_await test::eventually([&] { return errors->size() == 2; });
  CHECK(both);
  co_return *errors;
}

constexpr int clients = 50;
constexpr int checks_per_client = 31;

void rethrow_if(const std::exception_ptr& e) {
  if (e) std::rethrow_exception(e);
}

}  // namespace

TEST_CASE("sockets() shows the port the kernel picked for port 0", "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0);
    REQUIRE(server.sockets().size() == 1);
    const tcp::endpoint endpoint = server.sockets()[0];
    CHECK(endpoint.port() != 0);
    CHECK(endpoint.address() == test::loopback_v4());
    CHECK(server.is_serving());

    auto [reader, writer] = co_await open_connection(endpoint);
    CHECK(writer.remote_endpoint() == endpoint);
    writer.write("through the real port\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "through the real port\n");
    }
    server.close();
    CHECK_FALSE(server.is_serving());
  });
}

TEST_CASE("a plain function works as the client callback, and the connection closes when it returns", "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server([](stream_reader, stream_writer writer) { writer.write("plain\n"); },
                                        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", server.sockets()[0].port());
    {
      auto got = co_await reader.readline();
      CHECK(got == "plain\n");
    }
    {
      auto got = co_await reader.readline();
      CHECK(got.empty());
    }
    CHECK(reader.at_eof());
  });
}

TEST_CASE("a callback that throws is reported to the error handler and the server serves the next client",
          "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    std::vector<std::string> errors;
    auto server = co_await start_server(echo_or_throw, "127.0.0.1", 0);
    server.set_error_handler([&](std::exception_ptr e) { errors.push_back(what(e)); });
    const auto port = server.sockets()[0].port();

    {
      auto [reader, writer] = co_await open_connection("127.0.0.1", port);
      writer.write("boom\n");
      auto got = co_await reader.read();  // the callback died: its connection closes
      CHECK(got.empty());
    }
    const bool reported = co_await test::eventually([&] { return !errors.empty(); });
    CHECK(reported);
    CHECK(errors == std::vector<std::string>{"boom"});
    CHECK(server.is_serving());

    {
      auto [reader, writer] = co_await open_connection("127.0.0.1", port);
      writer.write("next\n");
      auto got = co_await reader.readline();
      CHECK(got == "echo:next\n");
    }

    // A plain function that throws is reported the same way.
    auto plain = co_await start_server(
        [](stream_reader, stream_writer) { throw std::logic_error("plain boom"); }, "127.0.0.1", 0);
    const std::vector<std::string> plain_errors = co_await errors_of_two_clients(plain);
    CHECK(plain_errors == std::vector<std::string>{"plain boom", "plain boom"});

    // So is a function returning a coroutine that throws before it returns one.
    auto eager = co_await start_server(refuse_before_starting, "127.0.0.1", 0);
    const std::vector<std::string> eager_errors = co_await errors_of_two_clients(eager);
    CHECK(eager_errors == std::vector<std::string>{"refused before starting", "refused before starting"});
    CHECK(eager.is_serving());
    CHECK(errors.size() == 1);
  });
}

TEST_CASE("close() stops accepting while the clients already connected go on", "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0);
    const tcp::endpoint endpoint = server.sockets()[0];
    auto [reader, writer] = co_await open_connection(endpoint);
    writer.write("before\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "before\n");
    }

    server.close();
    CHECK_FALSE(server.is_serving());
    co_await test::sleep_for(50ms);  // the server's strand closes the listening socket

    // A new client is refused, or at the very least never served.
    bool served = false;
    costream::error_code failure;
    try {
      auto late = co_await open_connection(endpoint);
      late.writer.write("after\n");
      auto got = co_await test::within(late.reader.readline(), 500ms);
      served = got.has_value() && *got == "after\n";
    } catch (const costream::system_error& e) {
      failure = e.code();
    }
    INFO("the late client got: " << failure.message());
    CHECK_FALSE(served);

    writer.write("still served\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "still served\n");
    }
    writer.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("wait_closed waits until every client callback has returned", "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection(server.sockets()[0]);
    writer.write("one\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "one\n");
    }

    server.close();
    bool closed = false;
    std::exception_ptr wait_failure;
    asio::co_spawn(executor, server.wait_closed(), [&](std::exception_ptr e) {
      wait_failure = e;
      closed = true;
    });
    co_await test::sleep_for(200ms);
    CHECK_FALSE(closed);  // the echo callback is still running

    writer.write("two\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "two\n");
    }
    CHECK_FALSE(closed);
    writer.close();  // the callback reads end of stream and returns
    const bool finished = co_await test::eventually([&] { return closed; });
    CHECK(finished);
    rethrow_if(wait_failure);
  });
}

TEST_CASE("the io_context has work while a client callback waits on something that holds none", "[server]") {
  // A callback runs as co_spawn would run it: while it has not returned,
  // io_context::run() does not return under it. Here nothing else holds
  // work: the server no longer accepts, and after end of stream the
  // connection reads no more. The callback then waits on an operation of
  // its own that holds no work (its handler is only parked).
  asio::io_context io;
  std::function<void()> parked;
  bool callback_returned = false;
  bool setup_done = false;
  std::optional<server> srv;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        srv.emplace(co_await start_server(
            [&](stream_reader reader, stream_writer) -> asio::awaitable<void> {
              const std::string all = co_await reader.read();  // to end of stream
              co_await asio::async_initiate<const asio::use_awaitable_t<>&, void()>(
                  [&](auto handler) {
                    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                    parked = [shared] { std::move(*shared)(); };
                  },
                  asio::use_awaitable);
              callback_returned = all == "bye";
            },
            "127.0.0.1", 0));
        tcp::socket client(io);
        co_await client.async_connect(srv->sockets()[0], asio::use_awaitable);
        co_await asio::async_write(client, asio::buffer(std::string("bye")), asio::use_awaitable);
        client.shutdown(tcp::socket::shutdown_send);
        const bool waiting = co_await test::eventually([&] { return static_cast<bool>(parked); });
        CHECK(waiting);
        srv->close();
        setup_done = true;
      },
      asio::detached);
  for (int i = 0; i < 100 && !setup_done; ++i) io.run_for(50ms);
  REQUIRE(setup_done);

  io.run_for(300ms);
  CHECK_FALSE(io.stopped());  // run() would not have returned: the callback has not

  asio::post(io, [&] { std::exchange(parked, nullptr)(); });
  for (int i = 0; i < 100 && !callback_returned; ++i) io.run_for(50ms);
  CHECK(callback_returned);
  // Once the connection is gone, the server holds no work: run() returns.
  for (int i = 0; i < 100 && !io.stopped(); ++i) io.run_for(50ms);
  CHECK(io.stopped());
}

TEST_CASE("close_clients closes each connection after flushing what was written", "[server]") {
  big_reply_state state;
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(
        [&](stream_reader reader, stream_writer writer) { return big_reply(state, reader, writer); }, "127.0.0.1",
        0);
    auto [reader, writer] = co_await open_connection(server.sockets()[0]);
    const bool wrote = co_await test::eventually([&] { return state.wrote; });
    REQUIRE(wrote);
    CHECK(state.unsent > 0);  // the writer still holds part of the reply

    server.close_clients();
    const std::string got = co_await reader.read();  // everything, then end of stream
    CHECK(got.size() == state.size);
    const bool intact = got == test::pattern(state.size);
    CHECK(intact);
    CHECK(reader.at_eof());

    const bool returned = co_await test::eventually([&] { return state.returned; });
    CHECK(returned);
    CHECK(state.line_after.empty());  // the callback's readline saw end of stream
    server.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("abort_clients closes each connection at once, dropping what was not sent", "[server]") {
  big_reply_state state;
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(
        [&](stream_reader reader, stream_writer writer) { return big_reply(state, reader, writer); }, "127.0.0.1",
        0);
    auto [reader, writer] = co_await open_connection(server.sockets()[0]);
    const bool wrote = co_await test::eventually([&] { return state.wrote; });
    REQUIRE(wrote);

    server.abort_clients();
    // What the kernel had taken still arrives; then end of stream (or a reset).
    std::string got;
    costream::error_code ec;
    for (;;) {
      auto chunk = co_await reader.read(64 * KiB, ec);
      if (chunk.empty()) break;
      got += chunk;
    }
    INFO("the client read " << got.size() << " bytes, then: " << ec.message());
    CHECK(got.size() < state.size);
    const bool prefix = got == test::pattern(state.size).substr(0, got.size());
    CHECK(prefix);

    const bool returned = co_await test::eventually([&] { return state.returned; });
    CHECK(returned);
    CHECK(state.line_after.empty());
    server.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("serve_forever returns once another coroutine calls close()", "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    server_options options;
    options.start_serving = false;
    auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0, options);
    CHECK_FALSE(server.is_serving());

    std::string got;
    bool was_serving = false;
    std::exception_ptr client_failure;
    asio::co_spawn(executor, use_then_close(server, got, was_serving),
                   [&](std::exception_ptr e) { client_failure = e; });
    co_await server.serve_forever();  // starts serving, returns after close()

    rethrow_if(client_failure);
    CHECK(was_serving);
    CHECK(got == "hi\n");
    CHECK_FALSE(server.is_serving());
    co_await server.wait_closed();
  });
}

TEST_CASE("with start_serving false nothing is accepted until start_serving()", "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    server_options options;
    options.start_serving = false;
    auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0, options);
    CHECK_FALSE(server.is_serving());

    // The kernel completes the handshake, but nobody accepts yet.
    auto [reader, writer] = co_await open_connection(server.sockets()[0]);
    writer.write("early\n");
    {
      auto got = co_await test::within(reader.readline(), 300ms);
      CHECK_FALSE(got.has_value());
    }

    server.start_serving();
    server.start_serving();  // idempotent
    const bool serving = co_await test::eventually([&] { return server.is_serving(); });
    CHECK(serving);
    {
      auto got = co_await reader.readline();  // the cancelled readline lost nothing
      CHECK(got == "early\n");
    }
    server.close();
    CHECK_FALSE(server.is_serving());
  });
}

TEST_CASE("fifty concurrent clients each get their own echoes", "[server]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0);
    const auto port = server.sockets()[0].port();
    std::atomic<int> good{0};
    std::atomic<int> bad{0};
    int finished = 0;
    std::vector<std::string> failures;
    for (int id = 0; id < clients; ++id)
      asio::co_spawn(executor, chatty_client(port, id, good, bad), [&](std::exception_ptr e) {
        if (e) failures.push_back(what(e));
        ++finished;
      });
    const bool all = co_await test::eventually([&] { return finished == clients; }, 15s);
    CHECK(all);
    CHECK(failures.empty());
    CHECK(bad == 0);
    CHECK(good == clients * checks_per_client);
    server.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("a server on an io_context run by four threads serves fifty clients correctly", "[server][threads]") {
  asio::io_context io(4);
  std::atomic<int> good{0};
  std::atomic<int> bad{0};
  std::atomic<int> failed{0};
  std::atomic<int> finished{0};
  std::atomic<bool> done{false};
  std::exception_ptr main_failure;  // written before `done`, read after the threads are joined

  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        // Default options: each connection gets its own strand.
        auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0);
        const auto port = server.sockets()[0].port();
        for (int id = 0; id < clients; ++id) {
          // Each client runs on its own strand too; its connection uses that executor.
          asio::co_spawn(asio::make_strand(io), chatty_client(port, id, good, bad), [&](std::exception_ptr e) {
            if (e) ++failed;
            ++finished;
          });
        }
        const bool all = co_await test::eventually([&] { return finished.load() == clients; }, 20s);
        if (!all) throw std::runtime_error("clients did not finish in time");
        server.close();
        co_await server.wait_closed();
      },
      [&](std::exception_ptr e) {
        main_failure = e;
        done = true;
      });

  std::atomic<int> exited{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i)
    threads.emplace_back([&] {
      io.run();
      ++exited;
    });
  // Bounded: give the run 30 s, then a few seconds to wind down, then stop.
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!done && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(10ms);
  const auto wind_down = std::chrono::steady_clock::now() + 5s;
  while (exited < 4 && std::chrono::steady_clock::now() < wind_down) std::this_thread::sleep_for(10ms);
  const bool ran_out_of_work = exited == 4;
  io.stop();
  for (auto& t : threads) t.join();

  REQUIRE(done);
  rethrow_if(main_failure);
  CHECK(ran_out_of_work);  // every connection was closed and nothing was left pending
  CHECK(failed == 0);
  CHECK(bad == 0);
  CHECK(good == clients * checks_per_client);
}
