// tests/integration/shutdown_test.cpp: shutting down under load never crashes, leaks or hangs.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include "support/net_all.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// These tests are about lifetimes: run them under ASan (leaks, use after
// free) and TSan (races), as CI does. Each one leaves coroutines suspended in
// reads, drains and accepts, then ends them in one of the ways a program ends.

namespace {

using namespace std::chrono_literals;

// A client callback that reads lines forever and answers each; it counts how
// it ended.
struct endings {
  std::atomic<int> started{0};
  std::atomic<int> clean_eof{0};
  std::atomic<int> errors{0};
};

asio::awaitable<void> answer_lines(std::shared_ptr<endings> seen, costream::stream_reader reader,
                                   costream::stream_writer writer) {
  ++seen->started;
  try {
    for (;;) {
      std::string line = co_await reader.readline();
      if (line.empty()) break;
      writer.write(line);
      co_await writer.drain();
    }
    ++seen->clean_eof;
  } catch (const costream::system_error&) {
    ++seen->errors;
    throw;
  }
}

// The client callback, made outside any co_await expression: g++ 12 destroys
// a closure (or any aggregate) temporary of a co_await expression a second
// time if the coroutine is later destroyed while suspended (see README).
std::function<asio::awaitable<void>(costream::stream_reader, costream::stream_writer)> answerer(
    std::shared_ptr<endings> seen) {
  return [seen](costream::stream_reader r, costream::stream_writer w) { return answer_lines(seen, r, w); };
}

// Answers one line, counts the answer, then waits for the next line: a
// request/reply server between a reply and its flush.
asio::awaitable<void> reply_then_wait(std::shared_ptr<std::atomic<int>> replied, costream::stream_reader reader,
                                      costream::stream_writer writer) {
  std::string line = co_await reader.readline();
  writer.write(line);
  ++*replied;
  line = co_await reader.readline();
}

std::function<asio::awaitable<void>(costream::stream_reader, costream::stream_writer)> replier(
    std::shared_ptr<std::atomic<int>> replied) {
  return [replied](costream::stream_reader r, costream::stream_writer w) { return reply_then_wait(replied, r, w); };
}

// Opens `count` clients that send one line, read the answer, then block in a
// read the server never satisfies.
asio::awaitable<void> park_clients(std::uint16_t port, int count, std::shared_ptr<std::atomic<int>> parked) {
  auto executor = co_await asio::this_coro::executor;
  for (int i = 0; i < count; ++i) {
    // Each client on its own strand: on a multi-threaded context a connection's
    // reader and writer must be used from one strand at a time.
    asio::co_spawn(asio::make_strand(executor), [port, parked]() -> asio::awaitable<void> {
      auto [reader, writer] = co_await costream::open_connection("127.0.0.1", port);
      writer.write("hello\n");
      std::string echo = co_await reader.readline();
      if (echo == "hello\n") ++*parked;
      std::string never = co_await reader.readline();  // ends at close, abort or shutdown
      (void)never;
    }, asio::detached);
  }
  co_return;
}

asio::awaitable<void> wait_until(const std::atomic<int>& value, int wanted) {
  for (int i = 0; i < 1000 && value.load() < wanted; ++i) co_await costream::test::sleep_for(5ms);
}

}  // namespace

TEST_CASE("close_clients ends parked clients with end of stream and wait_closed returns", "[shutdown][server]") {
  auto seen = std::make_shared<endings>();
  auto parked = std::make_shared<std::atomic<int>>(0);
  costream::test::run([&]() -> asio::awaitable<void> {
    auto callback = answerer(seen);
    auto server = co_await costream::start_server(callback, "127.0.0.1", 0);
    co_await park_clients(server.sockets()[0].port(), 20, parked);
    co_await wait_until(*parked, 20);
    server.close();
    server.close_clients();
    co_await server.wait_closed();
  });
  CHECK(parked->load() == 20);
  CHECK(seen->started.load() == 20);
  // The server closed its side: each server callback sees its client's EOF
  // only if the client closes; parked clients end when their reader sees EOF.
  CHECK(seen->clean_eof.load() + seen->errors.load() == 20);
}

TEST_CASE("abort_clients while clients are mid-read ends every handler and wait_closed returns", "[shutdown][server]") {
  auto seen = std::make_shared<endings>();
  auto parked = std::make_shared<std::atomic<int>>(0);
  std::vector<std::string> reported;
  costream::test::run([&]() -> asio::awaitable<void> {
    auto callback = answerer(seen);
    auto server = co_await costream::start_server(callback, "127.0.0.1", 0);
    server.set_error_handler([&](std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        reported.push_back(ex.what());
      }
    });
    co_await park_clients(server.sockets()[0].port(), 20, parked);
    co_await wait_until(*parked, 20);
    server.abort_clients();
    server.close();
    co_await server.wait_closed();
  });
  CHECK(seen->started.load() == 20);
  CHECK(seen->clean_eof.load() + seen->errors.load() == 20);
}

TEST_CASE("stopping and destroying an io_context with pending reads, drains and accepts frees everything",
          "[shutdown]") {
  auto parked = std::make_shared<std::atomic<int>>(0);
  auto seen = std::make_shared<endings>();
  std::weak_ptr<endings> seen_alive = seen;
  {
    auto io = std::make_unique<asio::io_context>();
    asio::co_spawn(*io, [&, seen]() -> asio::awaitable<void> {
      // The server object lives in this coroutine's frame, suspended forever below.
      auto callback = answerer(seen);
      auto server = co_await costream::start_server(callback, "127.0.0.1", 0);
      co_await park_clients(server.sockets()[0].port(), 10, parked);
      // A server readline waiting in the middle of a line.
      auto [reader, writer] = co_await costream::open_connection("127.0.0.1", server.sockets()[0].port());
      writer.write("no newline yet");
      // A writer blocked in drain(): its peer never reads, and both kernel
      // buffers are small, so most of the 4 MiB stays in the writer's buffer.
      costream::test::raw_listener silent(co_await asio::this_coro::executor, 64 * 1024);
      auto [blocked, peer] = co_await costream::test::connect_to(silent);
      blocked.writer.stream().set_option(asio::socket_base::send_buffer_size(64 * 1024));
      blocked.writer.write(std::string(4 << 20, 'x'));
      co_await blocked.writer.drain();
    }, asio::detached);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (parked->load() < 10 && std::chrono::steady_clock::now() < deadline) io->run_for(10ms);
    REQUIRE(parked->load() == 10);
    io->stop();
    seen.reset();
    io.reset();  // destroys every suspended coroutine frame
  }
  // Every frame that held the shared state is gone: nothing leaked a reference.
  CHECK(seen_alive.expired());
}

// After a request the socket's next read is left to the flush the reply
// posts (socket_transport::rearm), so between the reply and that flush no
// read is queued: the unrun flush is what must free the waiting read.
TEST_CASE("destroying an io_context between a reply and its flush frees the connection", "[shutdown]") {
  auto replied = std::make_shared<std::atomic<int>>(0);
  std::weak_ptr<std::atomic<int>> replied_alive = replied;
  {
    auto io = std::make_unique<asio::io_context>();
    std::uint16_t port = 0;
    asio::co_spawn(*io, [&port, replied]() -> asio::awaitable<void> {
      // The server object lives in this coroutine's frame, suspended until the context goes.
      auto callback = replier(replied);
      auto server = co_await costream::start_server(callback, "127.0.0.1", 0);
      port = server.sockets()[0].port();
      co_await costream::test::sleep_for(60s);
    }, asio::detached);
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (port == 0 && std::chrono::steady_clock::now() < deadline) io->run_one_for(10ms);
    REQUIRE(port != 0);
    auto client = std::make_unique<asio::ip::tcp::socket>(*io);
    client->connect({asio::ip::make_address("127.0.0.1"), port});
    asio::write(*client, asio::buffer(std::string("request\n")));
    // One handler at a time: the one that resumes the callback runs it
    // through its reply into its next wait, and returns before the flush.
    while (replied->load() == 0 && std::chrono::steady_clock::now() < deadline) io->run_one_for(10ms);
    REQUIRE(replied->load() == 1);
    client.reset();
    io->stop();
    replied.reset();
    io.reset();  // destroys the unrun flush and every suspended frame
  }
  CHECK(replied_alive.expired());
}

TEST_CASE("a 4-thread io_context stopped under load joins and frees everything", "[shutdown][threads]") {
  auto parked = std::make_shared<std::atomic<int>>(0);
  auto seen = std::make_shared<endings>();
  std::weak_ptr<endings> seen_alive = seen;
  {
    asio::io_context io(4);
    asio::co_spawn(asio::make_strand(io), [&, seen]() -> asio::awaitable<void> {
      auto callback = answerer(seen);
      auto server = co_await costream::start_server(callback, "127.0.0.1", 0);
      co_await park_clients(server.sockets()[0].port(), 40, parked);
      co_await costream::test::sleep_for(60s);  // never reached: the context stops first
    }, asio::detached);
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) threads.emplace_back([&] { io.run_for(20s); });
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (parked->load() < 40 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    io.stop();
    for (auto& t : threads) t.join();
    CHECK(parked->load() == 40);
    seen.reset();
  }
  CHECK(seen_alive.expired());
}
