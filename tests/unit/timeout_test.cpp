// tests/unit/timeout_test.cpp: with_timeout cancels a late operation, keeps every byte and reports its own errors.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/run.hpp"

#include <costream/timeout.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;

namespace {

asio::awaitable<void> feed_later(costream::stream_reader reader, std::chrono::milliseconds delay, std::string bytes) {
  co_await costream::test::sleep_for(delay);
  reader.feed_data(bytes);
}

bool is_timed_out(const costream::system_error& e) { return e.code() == costream::make_error_code(costream::errc::timed_out); }

}  // namespace

TEST_CASE("a read that outlives its timeout throws timed_out and leaves the buffer intact", "[timeout]") {
  std::string first, line;
  bool timed_out = false;
  costream::test::run([&]() -> asio::awaitable<void> {
    costream::stream_reader reader(co_await asio::this_coro::executor, 64);
    reader.feed_data("partial li");
    try {
      first = co_await costream::with_timeout(reader.readline(), 20ms);
    } catch (const costream::system_error& e) {
      timed_out = is_timed_out(e);
    }
    reader.feed_data("ne\nnext");
    line = co_await reader.readline();
  });
  CHECK(timed_out);
  CHECK(first.empty());
  CHECK(line == "partial line\n");
}

TEST_CASE("a read that completes before its timeout returns its result", "[timeout]") {
  std::string got;
  costream::test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    costream::stream_reader reader(executor, 64);
    asio::co_spawn(executor, feed_later(reader, 10ms, "abcdef"), asio::detached);
    got = co_await costream::with_timeout(reader.readexactly(4), 5s);
    const std::string rest = co_await reader.read(10);
    got += "|" + rest;
  });
  CHECK(got == "abcd|ef");
}

TEST_CASE("a read that fails before its timeout reports its own error at once", "[timeout]") {
  std::string partial;
  bool incomplete = false;
  auto started = std::chrono::steady_clock::now();
  costream::test::run([&]() -> asio::awaitable<void> {
    costream::stream_reader reader(co_await asio::this_coro::executor, 64);
    reader.feed_data("abc");
    reader.feed_eof();
    try {
      (void)co_await costream::with_timeout(reader.readexactly(10), 10s);
    } catch (const costream::incomplete_read_error& e) {
      incomplete = true;
      partial = e.partial();
    }
  });
  CHECK(incomplete);
  CHECK(partial == "abc");
  CHECK(std::chrono::steady_clock::now() - started < 5s);  // not after the 10 s deadline
}

TEST_CASE("the error_code form of with_timeout reports timed_out and returns an empty result", "[timeout]") {
  costream::error_code ec;
  std::string got = "unset", later;
  costream::test::run([&]() -> asio::awaitable<void> {
    costream::stream_reader reader(co_await asio::this_coro::executor, 64);
    reader.feed_data("ab");
    got = co_await costream::with_timeout(reader.readuntil("\r\n"), 10ms, ec);
    reader.feed_data("\r\n");
    later = co_await reader.readuntil("\r\n");
  });
  CHECK(ec == costream::errc::timed_out);
  CHECK(got.empty());
  CHECK(later == "ab\r\n");
}

TEST_CASE("with_timeout works with operations returning void", "[timeout]") {
  bool timed_out = false, finished = false;
  costream::test::run([&]() -> asio::awaitable<void> {
    try {
      co_await costream::with_timeout(costream::test::sleep_for(5s), 10ms);
    } catch (const costream::system_error& e) {
      timed_out = is_timed_out(e);
    }
    co_await costream::with_timeout(costream::test::sleep_for(1ms), 5s);
    finished = true;
  });
  CHECK(timed_out);
  CHECK(finished);
}

TEST_CASE("a reader that timed out many times in a row loses no byte", "[timeout]") {
  std::string collected;
  costream::test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    costream::stream_reader reader(executor, 1024);
    // Bytes trickle in slower than the read timeout: most reads time out.
    asio::co_spawn(executor, [reader]() mutable -> asio::awaitable<void> {
      for (int i = 0; i < 20; ++i) {
        co_await costream::test::sleep_for(3ms);
        reader.feed_data(std::string(1, static_cast<char>('a' + i)));
        if (i % 5 == 4) reader.feed_data("\n");
      }
      reader.feed_eof();
    }, asio::detached);
    for (;;) {
      costream::error_code ec;
      std::string line = co_await costream::with_timeout(reader.readline(), 1ms, ec);
      if (ec) continue;
      if (line.empty()) break;
      collected += line;
    }
  });
  CHECK(collected == "abcde\nfghij\nklmno\npqrst\n");
}
