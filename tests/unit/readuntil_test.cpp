// tests/unit/readuntil_test.cpp: readuntil with one or several separators, its limit, end of stream and usage errors.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

using namespace costream;

namespace {

// One readuntil's outcome: the data, or what it raised.
struct until_result {
  std::string data;
  costream::error_code code;                 // of any costream::system_error raised
  std::size_t consumed = 0;             // limit_overrun_error
  bool incomplete = false;              // incomplete_read_error
  std::optional<std::size_t> expected;  // incomplete_read_error
  std::string partial;                  // incomplete_read_error
};

asio::awaitable<until_result> outcome(asio::awaitable<std::string> op) {
  until_result r;
  try {
    r.data = co_await std::move(op);
  } catch (const incomplete_read_error& e) {
    r.code = e.code();
    r.incomplete = true;
    r.expected = e.expected();
    r.partial = e.partial();
  } catch (const limit_overrun_error& e) {
    r.code = e.code();
    r.consumed = e.consumed();
  } catch (const costream::system_error& e) {
    r.code = e.code();
  }
  co_return r;
}

}  // namespace

TEST_CASE("readuntil returns the data through the separator", "[readuntil]") {
  SECTION("the default separator is a newline") {
    const std::string input = "ab\n\ncd\n";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 8);
        test::spawn_feeder(reader, chunks);
        auto a = co_await reader.readuntil();
        CHECK(a == "ab\n");
        auto b = co_await reader.readuntil();
        CHECK(b == "\n");
        auto c = co_await reader.readuntil();
        CHECK(c == "cd\n");
      });
    }
  }
  SECTION("a separator of several bytes, split across pieces") {
    const std::string input = "ab\r\ncd\r\r\n\r\n";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 8);
        test::spawn_feeder(reader, chunks);
        auto a = co_await reader.readuntil("\r\n");
        CHECK(a == "ab\r\n");
        auto b = co_await reader.readuntil("\r\n");
        CHECK(b == "cd\r\r\n");
        auto c = co_await reader.readuntil("\r\n");
        CHECK(c == "\r\n");
        CHECK(reader.buffered().empty());
      });
    }
  }
  SECTION("a separator whose prefix repeats") {
    const std::string input = "xaabaaab|";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 8);
        test::spawn_feeder(reader, chunks);
        auto a = co_await reader.readuntil("aaab");
        CHECK(a == "xaabaaab");
        auto rest = co_await reader.read();
        CHECK(rest == "|");
      });
    }
  }
}

TEST_CASE("readuntil leaves the bytes after the separator buffered", "[readuntil]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 16);
    reader.feed_data("key=value;next");
    auto got = co_await reader.readuntil(";");
    CHECK(got == "key=value;");
    CHECK(reader.buffered() == "next");
  });
}

TEST_CASE("readuntil finds a separator that arrived together with end of stream", "[readuntil][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("abc\r\n");
    reader.feed_eof();
    auto got = co_await reader.readuntil("\r\n");
    CHECK(got == "abc\r\n");
    CHECK(reader.at_eof());
  });
}

TEST_CASE("readuntil raises incomplete_read_error with the whole buffer at end of stream", "[readuntil][eof]") {
  SECTION("the buffer ends with part of the separator") {
    const std::string input = "ab\r\ncd\r";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 8);
        test::spawn_feeder(reader, chunks);
        auto first = co_await reader.readuntil("\r\n");
        CHECK(first == "ab\r\n");
        auto r = co_await outcome(reader.readuntil("\r\n"));
        CHECK(r.incomplete);
        CHECK(r.code == errc::incomplete_read);
        CHECK(r.partial == "cd\r");
        CHECK_FALSE(r.expected.has_value());
        CHECK(reader.buffered().empty());
        CHECK(reader.at_eof());
      });
    }
  }
  SECTION("nothing buffered") {
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 8);
      test::spawn_feeder(reader, {});
      auto r = co_await outcome(reader.readuntil());
      CHECK(r.incomplete);
      CHECK(r.partial.empty());
      CHECK_FALSE(r.expected.has_value());
    });
  }
}

TEST_CASE("readuntil's incomplete_read_error says how much was read", "[readuntil][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("abc");
    reader.feed_eof();
    std::string what;
    try {
      (void)co_await reader.readuntil();
    } catch (const incomplete_read_error& e) {
      what = e.what();
    }
    CHECK(what.find("3 bytes read on a total of undefined expected bytes") != std::string::npos);
  });
}

TEST_CASE("readuntil returns data exactly as long as the limit", "[readuntil][limit]") {
  const std::string input = "abcd\r\n";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks);
      auto got = co_await reader.readuntil("\r\n");
      CHECK(got == "abcd\r\n");
    });
  }
}

TEST_CASE("readuntil raises limit_overrun_error and keeps the data when the separator is too far",
          "[readuntil][limit]") {
  SECTION("separator found beyond the limit: consumed is its index") {
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      reader.feed_data("abcdefg\nhi\n");
      auto r = co_await outcome(reader.readuntil());
      CHECK(r.code == errc::limit_overrun);
      CHECK(r.consumed == 7);
      CHECK(reader.buffered() == "abcdefg\nhi\n");
      // Consuming `consumed` bytes and the separator gets past the overrun.
      auto skipped = co_await reader.readexactly(r.consumed + 1);
      CHECK(skipped == "abcdefg\n");
      auto next = co_await reader.readuntil();
      CHECK(next == "hi\n");
    });
  }
  SECTION("no separator within the limit: consumed is the bytes scanned") {
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      reader.feed_data("abcdefgh");
      auto one = co_await outcome(reader.readuntil());
      CHECK(one.code == errc::limit_overrun);
      CHECK(one.consumed == 8);
      auto two = co_await outcome(reader.readuntil("\r\n"));
      CHECK(two.code == errc::limit_overrun);
      CHECK(two.consumed == 7);  // the last byte may start the separator
      CHECK(reader.buffered() == "abcdefgh");
    });
  }
  SECTION("a separator at index limit + 1") {
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      reader.feed_data("abcde\n");
      auto r = co_await outcome(reader.readuntil());
      CHECK(r.code == errc::limit_overrun);
      CHECK(r.consumed == 5);
    });
  }
  SECTION("whatever the chunking") {
    const std::string input = "0123456789\n";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 4);
        test::spawn_feeder(reader, chunks, {false, nullptr});
        auto r = co_await outcome(reader.readuntil());
        CHECK(r.code == errc::limit_overrun);
        CHECK(r.consumed > 4);
        const std::string_view held = reader.buffered();
        CHECK(r.consumed <= held.size());
        CHECK(std::string_view(input).substr(0, held.size()) == held);
      });
    }
  }
}

TEST_CASE("readuntil finds a separator within the limit when more than the limit is buffered",
          "[readuntil][limit]") {
  const std::string input = "ab\ncdefghijkl\n";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks);
      auto got = co_await reader.readuntil();
      CHECK(got == "ab\n");
    });
  }
}

TEST_CASE("readuntil is not confused by a separator that starts before the limit but ends after it",
          "[readuntil][limit]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("abcd<sep>");
    auto got = co_await reader.readuntil("<sep>");
    CHECK(got == "abcd<sep>");
  });
}

TEST_CASE("readuntil rejects an empty separator and leaves the buffer alone", "[readuntil][usage]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("abc\n");
    until_result r;
    SECTION("an empty separator") {
      r = co_await outcome(reader.readuntil(""));
    }
    SECTION("an empty list") {
      const std::vector<std::string_view> none;
      r = co_await outcome(reader.readuntil(std::span<const std::string_view>(none)));
    }
    SECTION("a list holding an empty separator") {
      auto op = reader.readuntil({"\n", ""});
      r = co_await outcome(std::move(op));
    }
    CHECK(r.code == errc::empty_separator);
    CHECK(r.code == std::errc::invalid_argument);
    CHECK(reader.buffered() == "abc\n");
  });
}

TEST_CASE("readuntil with several separators stops at the match that ends first", "[readuntil][separators]") {
  SECTION("alternating separators") {
    const std::string input = "a|b;c|";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 8);
        test::spawn_feeder(reader, chunks);
        // g++ 12 cannot keep a braced list in a coroutine frame ("array used
        // as initializer"): start the read in a statement of its own.
        auto op_a = reader.readuntil({";", "|"});
        auto a = co_await std::move(op_a);
        CHECK(a == "a|");
        auto op_b = reader.readuntil({";", "|"});
        auto b = co_await std::move(op_b);
        CHECK(b == "b;");
        auto op_c = reader.readuntil({";", "|"});
        auto c = co_await std::move(op_c);
        CHECK(c == "c|");
      });
    }
  }
  SECTION("a longer separator split across pieces") {
    const std::string input = "a\r\nbEND";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 8);
        test::spawn_feeder(reader, chunks);
        const std::vector<std::string_view> seps{"END", "\r\n"};
        auto a = co_await reader.readuntil(std::span<const std::string_view>(seps));
        CHECK(a == "a\r\n");
        auto b = co_await reader.readuntil(std::span<const std::string_view>(seps));
        CHECK(b == "bEND");
      });
    }
  }
  SECTION("the earliest end wins over the earliest start") {
    const std::string input = "xabcd";
    for (const auto& chunks : test::chunkings(input)) {
      INFO("chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        stream_reader reader(co_await asio::this_coro::executor, 8);
        test::spawn_feeder(reader, chunks);
        auto op = reader.readuntil({"abcd", "bc"});
        auto got = co_await std::move(op);
        CHECK(got == "xabc");
        auto rest = co_await reader.read();
        CHECK(rest == "d");
      });
    }
  }
}

TEST_CASE("readuntil with several separators prefers the shortest of matches ending together",
          "[readuntil][separators][limit]") {
  // "\n" and "\r\n" both end at byte 4 of "ab\r\n"; the shortest, "\n", wins,
  // and it starts at index 3, beyond the limit of 2 (asyncio 3.13).
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 2);
    reader.feed_data("ab\r\n");
    auto op = reader.readuntil({"\r\n", "\n"});
    auto r = co_await outcome(std::move(op));
    CHECK(r.code == errc::limit_overrun);
    CHECK(r.consumed == 3);
    CHECK(reader.buffered() == "ab\r\n");
  });
}

TEST_CASE("readuntil with several separators raises incomplete_read_error at end of stream",
          "[readuntil][separators][eof]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    test::spawn_feeder(reader, {"abc", "EN"});
    auto op = reader.readuntil({"END", "\n"});
    auto r = co_await outcome(std::move(op));
    CHECK(r.incomplete);
    CHECK(r.partial == "abcEN");
  });
}

TEST_CASE("readuntil returns a complete record before raising a stored exception", "[readuntil][exception]") {
  const std::string input = "one;two;th";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 8);
      test::spawn_feeder(reader, chunks, {false, std::make_exception_ptr(std::runtime_error("boom"))});
      std::vector<std::string> records;
      bool thrown = false;
      for (;;) {
        try {
          records.push_back(co_await reader.readuntil(";"));
        } catch (const std::runtime_error& e) {
          thrown = std::string(e.what()) == "boom";
          break;
        }
      }
      CHECK(records == std::vector<std::string>{"one;", "two;"});
      CHECK(thrown);
      CHECK(reader.buffered() == "th");
    });
  }
}

TEST_CASE("readuntil raises a stored exception before reporting end of stream", "[readuntil][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("abc");
    reader.feed_eof();
    reader.set_exception(std::make_exception_ptr(costream::system_error(costream::error_code(asio::error::connection_reset))));
    auto r = co_await outcome(reader.readuntil());
    CHECK_FALSE(r.incomplete);
    CHECK(r.code == asio::error::connection_reset);
    CHECK(reader.buffered() == "abc");
  });
}
