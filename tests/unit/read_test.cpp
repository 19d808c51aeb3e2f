// tests/unit/read_test.cpp: read(n) and read() to end of stream on a reader fed by hand.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

using namespace costream;

TEST_CASE("read(0) returns an empty string at once", "[read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    SECTION("with nothing buffered and no end of stream") {
      auto got = co_await reader.read(0);
      CHECK(got.empty());
    }
    SECTION("with bytes buffered, which stay") {
      reader.feed_data("abc");
      auto got = co_await reader.read(0);
      CHECK(got.empty());
      CHECK(reader.buffered() == "abc");
    }
    SECTION("with a stored exception") {
      reader.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
      auto got = co_await reader.read(0);
      CHECK(got.empty());
    }
  });
}

TEST_CASE("read(n) returns what is buffered without waiting for n bytes", "[read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("abc");
    auto first = co_await reader.read(10);
    CHECK(first == "abc");
    CHECK(reader.buffered().empty());
    CHECK_FALSE(reader.at_eof());
  });
}

TEST_CASE("read(n) takes at most n bytes and leaves the rest buffered", "[read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("abcdef");
    auto first = co_await reader.read(2);
    CHECK(first == "ab");
    CHECK(reader.buffered() == "cdef");
    auto second = co_await reader.read(3);
    CHECK(second == "cde");
    auto third = co_await reader.read(3);
    CHECK(third == "f");
  });
}

TEST_CASE("read(n) is not bounded by the limit", "[read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 2);
    const std::string data(40, 'x');
    reader.feed_data(data);
    auto got = co_await reader.read(100);
    CHECK(got == data);
  });
}

TEST_CASE("read(n) waits for at least one byte and returns every byte in order", "[read]") {
  const std::string input = "hello, stream\nbye";
  for (std::size_t n : {std::size_t{1}, std::size_t{3}, std::size_t{100}}) {
    for (const auto& chunks : test::chunkings(input)) {
      INFO("n = " << n << ", chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 4);
        test::spawn_feeder(reader, chunks);
        std::string all;
        for (;;) {
          auto got = co_await reader.read(n);
          if (got.empty()) break;
          CHECK(got.size() <= n);
          all += got;
        }
        CHECK(all == input);
        CHECK(reader.at_eof());
        auto again = co_await reader.read(n);
        CHECK(again.empty());
      });
    }
  }
}

TEST_CASE("read(n) returns an empty string at end of stream", "[read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    SECTION("end of stream already fed") {
      reader.feed_eof();
      auto got = co_await reader.read(5);
      CHECK(got.empty());
      auto again = co_await reader.read(5);
      CHECK(again.empty());
    }
    SECTION("end of stream fed while the read waits") {
      test::spawn_feeder(reader, {});
      auto got = co_await reader.read(5);
      CHECK(got.empty());
    }
    SECTION("end of stream after the last bytes") {
      reader.feed_data("ab");
      reader.feed_eof();
      auto got = co_await reader.read(5);
      CHECK(got == "ab");
      auto end = co_await reader.read(5);
      CHECK(end.empty());
    }
    CHECK(reader.at_eof());
  });
}

TEST_CASE("read() returns everything up to end of stream", "[read]") {
  const std::string input = "first line\nsecond\n\nno newline";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      // A small limit: asyncio reads blocks of `limit`, the result must not depend on it.
      stream_reader reader(co_await asio::this_coro::executor, 3);
      test::spawn_feeder(reader, chunks);
      auto all = co_await reader.read();
      CHECK(all == input);
      CHECK(reader.at_eof());
      auto again = co_await reader.read();
      CHECK(again.empty());
    });
  }
}

TEST_CASE("read() returns the rest after other reads", "[read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("line\nrest");
    auto line = co_await reader.readline();
    CHECK(line == "line\n");
    test::spawn_feeder(reader, {" and more"});
    auto rest = co_await reader.read();
    CHECK(rest == "rest and more");
  });
}

TEST_CASE("read() returns an empty string when the stream ends with nothing", "[read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor);
    test::spawn_feeder(reader, {});
    auto all = co_await reader.read();
    CHECK(all.empty());
    CHECK(reader.at_eof());
  });
}

TEST_CASE("read(n) returns buffered bytes before raising a stored exception", "[read][exception]") {
  for (const auto& chunks : test::chunkings("abc")) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      const auto error = std::make_exception_ptr(costream::system_error(costream::error_code(asio::error::connection_reset)));
      test::spawn_feeder(reader, chunks, {false, error});
      std::string all;
      costream::error_code raised;
      for (;;) {
        try {
          all += co_await reader.read(2);
        } catch (const costream::system_error& e) {
          raised = e.code();
          break;
        }
      }
      CHECK(all == "abc");
      CHECK(raised == asio::error::connection_reset);
      CHECK(reader.exception() == error);
      // The error stays: every later read that needs data raises it again.
      bool again = false;
      try {
        (void)co_await reader.read(1);
      } catch (const costream::system_error& e) {
        again = costream::error_code(e.code()) == asio::error::connection_reset;
      }
      CHECK(again);
    });
  }
}

TEST_CASE("read(n) waiting for data raises the exception set meanwhile", "[read][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    test::spawn_feeder(reader, {}, {false, std::make_exception_ptr(std::runtime_error("boom"))});
    std::string what;
    try {
      (void)co_await reader.read(3);
    } catch (const std::runtime_error& e) {
      what = e.what();
    }
    CHECK(what == "boom");
  });
}

TEST_CASE("read() raises a stored exception and leaves the bytes buffered", "[read][exception]") {
  for (const auto& chunks : test::chunkings("partial")) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 3);
      test::spawn_feeder(reader, chunks, {false, std::make_exception_ptr(std::runtime_error("boom"))});
      bool thrown = false;
      try {
        (void)co_await reader.read();
      } catch (const std::runtime_error&) {
        thrown = true;
      }
      CHECK(thrown);
      CHECK(reader.buffered() == "partial");
      auto rest = co_await reader.read(100);
      CHECK(rest == "partial");
    });
  }
}

TEST_CASE("read() completes at end of stream even with a stored exception", "[read][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("all of it");
    reader.feed_eof();
    reader.set_exception(std::make_exception_ptr(std::runtime_error("late")));
    auto all = co_await reader.read();
    CHECK(all == "all of it");
  });
}
