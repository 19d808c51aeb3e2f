// tests/unit/readexactly_test.cpp: readexactly(n), its incomplete_read_error at end of stream and its stored-error behaviour.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace costream;

TEST_CASE("readexactly(0) returns an empty string at once", "[readexactly]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    SECTION("with nothing buffered and no end of stream") {
      auto got = co_await reader.readexactly(0);
      CHECK(got.empty());
    }
    SECTION("at end of stream") {
      reader.feed_eof();
      auto got = co_await reader.readexactly(0);
      CHECK(got.empty());
    }
    SECTION("with bytes buffered, which stay") {
      reader.feed_data("ab");
      auto got = co_await reader.readexactly(0);
      CHECK(got.empty());
      CHECK(reader.buffered() == "ab");
    }
  });
}

TEST_CASE("readexactly(n) waits for n bytes and returns exactly them", "[readexactly]") {
  const std::string input = "0123456789";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks);
      std::vector<std::string> parts;
      for (std::size_t n : {3, 1, 6}) parts.push_back(co_await reader.readexactly(n));
      CHECK(parts == std::vector<std::string>{"012", "3", "456789"});
      CHECK(reader.buffered().empty());
      auto end = co_await reader.read(1);
      CHECK(end.empty());
      CHECK(reader.at_eof());
    });
  }
}

TEST_CASE("readexactly(n) leaves the bytes after the n buffered", "[readexactly]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("abcdef");
    auto got = co_await reader.readexactly(4);
    CHECK(got == "abcd");
    CHECK(reader.buffered() == "ef");
  });
}

TEST_CASE("readexactly(n) is not bounded by the limit", "[readexactly][limit]") {
  const std::string input = "a longer record than the limit";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 2);
      test::spawn_feeder(reader, chunks, {false, nullptr});
      auto got = co_await reader.readexactly(input.size());
      CHECK(got == input);
    });
  }
}

TEST_CASE("readexactly raises incomplete_read_error with every buffered byte at end of stream",
          "[readexactly][eof]") {
  const std::string input = "abcdefg";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks);
      auto first = co_await reader.readexactly(2);
      CHECK(first == "ab");
      bool thrown = false;
      std::string partial;
      std::optional<std::size_t> expected;
      costream::error_code code;
      std::string what;
      try {
        (void)co_await reader.readexactly(10);
      } catch (const incomplete_read_error& e) {
        thrown = true;
        partial = e.partial();
        expected = e.expected();
        code = e.code();
        what = e.what();
      }
      CHECK(thrown);
      CHECK(partial == "cdefg");
      CHECK(expected == std::optional<std::size_t>(10));
      CHECK(code == errc::incomplete_read);
      CHECK(what.find("5 bytes read on a total of 10 expected bytes") != std::string::npos);
      // The partial bytes travel with the error: the buffer is empty.
      CHECK(reader.buffered().empty());
      CHECK(reader.at_eof());
    });
  }
}

TEST_CASE("readexactly at end of stream with nothing buffered raises an empty incomplete_read_error",
          "[readexactly][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    test::spawn_feeder(reader, {});
    bool thrown = false;
    std::string partial = "(not set)";
    std::optional<std::size_t> expected;
    try {
      (void)co_await reader.readexactly(3);
    } catch (const incomplete_read_error& e) {
      thrown = true;
      partial = e.partial();
      expected = e.expected();
    }
    CHECK(thrown);
    CHECK(partial.empty());
    CHECK(expected == std::optional<std::size_t>(3));
  });
}

TEST_CASE("incomplete_read_error is a costream::system_error of costream's category", "[readexactly][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("x");
    reader.feed_eof();
    costream::error_code code;
    try {
      (void)co_await reader.readexactly(2);
    } catch (const costream::system_error& e) {
      code = e.code();
    }
    CHECK(code == errc::incomplete_read);
    CHECK(std::error_code(code).category() == costream::error_category());
  });
}

TEST_CASE("readexactly completes from the buffer before raising a stored exception", "[readexactly][exception]") {
  const std::string input = "abcdefg";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks,
                         {false, std::make_exception_ptr(costream::system_error(costream::error_code(asio::error::connection_reset)))});
      auto first = co_await reader.readexactly(3);
      CHECK(first == "abc");
      costream::error_code raised;
      bool incomplete = false;
      try {
        (void)co_await reader.readexactly(5);
      } catch (const incomplete_read_error&) {
        incomplete = true;
      } catch (const costream::system_error& e) {
        raised = e.code();
      }
      CHECK_FALSE(incomplete);
      CHECK(raised == asio::error::connection_reset);
      // The bytes the read could not complete stay buffered.
      CHECK(reader.buffered() == "defg");
      auto four = co_await reader.readexactly(4);
      CHECK(four == "defg");
    });
  }
}

TEST_CASE("readexactly raises a stored exception before reporting end of stream", "[readexactly][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("ab");
    reader.feed_eof();
    reader.set_exception(std::make_exception_ptr(std::runtime_error("boom")));
    bool runtime = false;
    try {
      (void)co_await reader.readexactly(3);
    } catch (const std::runtime_error& e) {
      runtime = std::string(e.what()) == "boom";
    }
    CHECK(runtime);
    CHECK(reader.buffered() == "ab");
  });
}
