// tests/unit/feed_test.cpp: feeding a reader by hand: feed_data, feed_eof, at_eof, set_exception, exception and limit.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace costream;

TEST_CASE("feed_data appends to the buffer", "[feed]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    CHECK(reader.buffered().empty());
    reader.feed_data("ab");
    reader.feed_data("cd");
    CHECK(reader.buffered() == "abcd");
    auto got = co_await reader.read(100);
    CHECK(got == "abcd");
  });
}

TEST_CASE("feed_data ignores empty data", "[feed]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("");
    CHECK(reader.buffered().empty());
    reader.feed_data("x");
    reader.feed_data("");
    CHECK(reader.buffered() == "x");
    co_return;
  });
}

TEST_CASE("feed_data keeps every byte value, NUL included", "[feed]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    std::string bytes;
    for (int c = 0; c < 256; ++c) bytes += static_cast<char>(c);
    reader.feed_data(bytes);
    reader.feed_eof();
    auto all = co_await reader.read();
    CHECK(all == bytes);
  });
}

TEST_CASE("feed_data wakes a waiting read", "[feed]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    test::spawn_feeder(reader, {"xyz"}, {false, nullptr});
    auto got = co_await reader.read(10);
    CHECK(got == "xyz");
  });
}

TEST_CASE("feed_data after feed_eof is an error", "[feed][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("ab");
    reader.feed_eof();
    costream::error_code code;
    try {
      reader.feed_data("more");
    } catch (const costream::system_error& e) {
      code = e.code();
    }
    CHECK(code == errc::feed_after_eof);
    CHECK(reader.buffered() == "ab");
    co_return;
  });
}

TEST_CASE("feed_eof wakes a waiting read", "[feed][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    test::spawn_feeder(reader, {"ab"});
    auto line = co_await reader.readline();
    CHECK(line == "ab");
    CHECK(reader.at_eof());
  });
}

TEST_CASE("feed_eof may be called more than once", "[feed][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_eof();
    reader.feed_eof();
    CHECK(reader.at_eof());
    auto got = co_await reader.read(1);
    CHECK(got.empty());
  });
}

TEST_CASE("at_eof is true only once end of stream was fed and the buffer is empty", "[feed][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    CHECK_FALSE(reader.at_eof());
    reader.feed_data("abc");
    CHECK_FALSE(reader.at_eof());
    reader.feed_eof();
    CHECK_FALSE(reader.at_eof());
    auto two = co_await reader.read(2);
    CHECK(two == "ab");
    CHECK_FALSE(reader.at_eof());
    auto one = co_await reader.read(2);
    CHECK(one == "c");
    CHECK(reader.at_eof());
  });
}

TEST_CASE("exception() returns what set_exception stored", "[feed][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    CHECK(reader.exception() == nullptr);
    const auto error = std::make_exception_ptr(std::runtime_error("boom"));
    reader.set_exception(error);
    CHECK(reader.exception() == error);
    // A stored exception does not end the stream.
    CHECK_FALSE(reader.at_eof());
    co_return;
  });
}

TEST_CASE("set_exception replaces an earlier exception", "[feed][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.set_exception(std::make_exception_ptr(std::runtime_error("first")));
    reader.set_exception(std::make_exception_ptr(costream::system_error(costream::error_code(asio::error::connection_reset))));
    costream::error_code code;
    try {
      (void)co_await reader.read(1);
    } catch (const costream::system_error& e) {
      code = e.code();
    }
    CHECK(code == asio::error::connection_reset);
  });
}

TEST_CASE("set_exception wakes a waiting read, which raises it", "[feed][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    const auto error = std::make_exception_ptr(std::logic_error("stored"));
    test::spawn_feeder(reader, {"par"}, {false, error});
    std::string what;
    try {
      (void)co_await reader.readline();
    } catch (const std::logic_error& e) {
      what = e.what();
    }
    CHECK(what == "stored");
    CHECK(reader.exception() == error);
    CHECK(reader.buffered() == "par");
  });
}

TEST_CASE("feed_data still works after set_exception", "[feed][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    reader.feed_data("ok\n");
    auto line = co_await reader.readline();
    CHECK(line == "ok\n");
  });
}

TEST_CASE("limit() is the limit given, 64 KiB by default", "[feed][limit]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader given(ex, 7);
    CHECK(given.limit() == 7);
    stream_reader by_default(ex);
    CHECK(by_default.limit() == 64 * 1024);
  });
}

TEST_CASE("a limit of zero is rejected", "[feed][limit]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    bool thrown = false;
    try {
      stream_reader reader(ex, 0);
    } catch (const std::invalid_argument&) {
      thrown = true;
    }
    CHECK(thrown);
  });
}

TEST_CASE("copies of a reader share one buffer", "[feed]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 16);
    stream_reader copy = reader;
    copy.feed_data("shared\n");
    CHECK(reader.buffered() == "shared\n");
    auto line = co_await reader.readline();
    CHECK(line == "shared\n");
    CHECK(copy.buffered().empty());
    copy.feed_eof();
    CHECK(reader.at_eof());
  });
}

TEST_CASE("a reader fed by hand has no protocol and uses the executor it was given", "[feed]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader reader(ex, 4);
    CHECK(reader.protocol() == nullptr);
    CHECK(reader.get_executor() == ex);
    co_return;
  });
}
