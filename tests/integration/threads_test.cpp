// tests/integration/threads_test.cpp: a server on an io_context run by 4 threads serves 200 connections correctly.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/run.hpp"

#include "support/net_all.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

// Each connection's reader, writer and protocol live on the connection's own
// strand (server_options::strand_per_connection, the default), so the client
// callbacks run in parallel on the pool without racing. ThreadSanitizer runs
// this test in CI.

namespace {

constexpr int connections = 200;
constexpr int lines_per_connection = 20;

// Echo server: lines back as they are; "BLOB n" is answered with n bytes read
// by readexactly and echoed back.
asio::awaitable<void> echo(costream::stream_reader reader, costream::stream_writer writer) {
  for (;;) {
    std::string line = co_await reader.readline();
    if (line.empty()) break;
    if (line.starts_with("BLOB ")) {
      std::string blob = co_await reader.readexactly(std::stoul(line.substr(5)));
      writer.write(blob);
    } else {
      writer.write(line);
    }
    co_await writer.drain();
  }
  writer.close();
}

std::string line_for(int connection, int line) {
  return "connection " + std::to_string(connection) + " line " + std::to_string(line) +
         std::string(static_cast<std::size_t>((connection * 31 + line * 7) % 200), 'x') + "\n";
}

asio::awaitable<void> client(std::uint16_t port, int id, std::atomic<int>& good, std::atomic<long>& bytes) {
  auto [reader, writer] = co_await costream::open_connection("127.0.0.1", port);
  bool ok = true;
  for (int i = 0; i < lines_per_connection; ++i) {
    const std::string sent = line_for(id, i);
    writer.write(sent);
    // Pipeline a few lines before reading replies.
    if (i % 4 != 3) continue;
    co_await writer.drain();
    for (int j = i - 3; j <= i; ++j) {
      const std::string want = line_for(id, j);
      std::string got = co_await reader.readline();
      ok = ok && got == want;
      bytes += static_cast<long>(got.size());
    }
  }
  const std::string blob(static_cast<std::size_t>(10000 + id * 97), static_cast<char>('a' + id % 26));
  writer.write("BLOB " + std::to_string(blob.size()) + "\n");
  writer.write(blob);
  co_await writer.drain();
  std::string echoed = co_await reader.readexactly(blob.size());
  ok = ok && echoed == blob;
  bytes += static_cast<long>(echoed.size());
  writer.write_eof();
  std::string rest = co_await reader.read();
  ok = ok && rest.empty();
  writer.close();
  co_await writer.wait_closed();
  if (ok) ++good;
}

}  // namespace

TEST_CASE("a server on 4 threads serves 200 concurrent connections without mixing their bytes", "[threads][server]") {
  asio::io_context io(4);
  std::atomic<int> good{0};
  std::atomic<long> bytes{0};
  std::atomic<int> finished{0};
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  std::atomic<bool> all_done{false};

  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    auto server = co_await costream::start_server(echo, "127.0.0.1", 0);
    const auto port = server.sockets()[0].port();
    for (int id = 0; id < connections; ++id) {
      asio::co_spawn(asio::make_strand(io), client(port, id, good, bytes), [&](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::lock_guard lock(errors_mutex);
            errors.push_back(ex.what());
          }
        }
        ++finished;
      });
    }
    // Wait for the clients (bounded), then shut the server down gracefully.
    for (int i = 0; i < 3000 && finished.load() < connections; ++i) co_await costream::test::sleep_for(std::chrono::milliseconds(10));
    server.close();
    co_await server.wait_closed();
    all_done = true;
  }, asio::detached);

  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { io.run_for(std::chrono::seconds(60)); });
  for (auto& t : threads) t.join();

  INFO("first error: " << (errors.empty() ? std::string("none") : errors.front()));
  CHECK(errors.empty());
  CHECK(good.load() == connections);
  CHECK(all_done.load());
  CHECK(bytes.load() > 0);
}
