// tests/unit/try_read_test.cpp: the reads that never wait (try_read, try_readline, try_readuntil, try_readexactly).
// SPDX-License-Identifier: BSL-1.0
//
// The property test (chunking_property_test.cpp) also runs try_ reads against
// the reference model under every chunking: each returns what its awaitable
// form returns at once, or declines having changed nothing.
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <chrono>

#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

using namespace costream;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

// What a try_ read returned, as text a failed CHECK shows: the bytes as
// test::quote writes them, or "declined".
std::string shown(const std::optional<std::string_view>& got) {
  return got ? test::quote(*got) : std::string("declined");
}

asio::awaitable<void> readexactly_into(stream_reader reader, std::size_t n, std::string& out, bool& done) {
  out = co_await reader.readexactly(n);
  done = true;
}

}  // namespace

TEST_CASE("try_readline returns each buffered line and declines a partial one", "[try_read][readline]") {
  asio::io_context io;
  stream_reader reader(io.get_executor(), 8);
  CHECK(shown(reader.try_readline()) == "declined");
  reader.feed_data("ab\ncd");
  CHECK(shown(reader.try_readline()) == test::quote("ab\n"));
  CHECK(shown(reader.try_readline()) == "declined");
  CHECK(reader.buffered() == "cd");
  reader.feed_data("e\n\nf");
  CHECK(shown(reader.try_readline()) == test::quote("cde\n"));
  CHECK(shown(reader.try_readline()) == test::quote("\n"));
  CHECK(shown(reader.try_readline()) == "declined");
  CHECK(reader.buffered() == "f");
}

TEST_CASE("try_readline returns a line of limit() bytes and declines a longer one, leaving it to readline",
          "[try_read][readline][limit]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("abcd\nabcde\nxy\n");
    std::optional<std::string_view> first = reader.try_readline();
    CHECK(shown(first) == test::quote("abcd\n"));
    std::optional<std::string_view> second = reader.try_readline();
    CHECK(shown(second) == "declined");
    CHECK(reader.buffered() == "abcde\nxy\n");
    costream::error_code ec;
    (void)co_await reader.readline(ec);
    CHECK(ec == errc::line_too_long);
    std::optional<std::string_view> third = reader.try_readline();
    CHECK(shown(third) == test::quote("xy\n"));
  });
}

TEST_CASE("try_ reads decline at end of stream and with an error stored unless the buffer completes them",
          "[try_read][eof][exception]") {
  asio::io_context io;
  stream_reader reader(io.get_executor(), 8);
  SECTION("end of stream") {
    reader.feed_data("ab\ncd");
    reader.feed_eof();
    CHECK(shown(reader.try_readline()) == test::quote("ab\n"));
    // readline would return the partial line "cd" with no newline: declined.
    CHECK(shown(reader.try_readline()) == "declined");
    CHECK(shown(reader.try_readuntil("\n")) == "declined");
    CHECK(shown(reader.try_readexactly(3)) == "declined");
    CHECK(shown(reader.try_read(5)) == test::quote("cd"));
    // read(5) would return "" for the end of the stream: declined.
    CHECK(shown(reader.try_read(5)) == "declined");
    CHECK(reader.at_eof());
  }
  SECTION("a stored error") {
    reader.feed_data("ab\ncd");
    reader.set_exception(std::make_exception_ptr(costream::system_error(costream::error_code(asio::error::connection_reset))));
    CHECK(shown(reader.try_readline()) == test::quote("ab\n"));
    CHECK(shown(reader.try_readline()) == "declined");
    CHECK(shown(reader.try_readexactly(3)) == "declined");
    CHECK(shown(reader.try_readexactly(2)) == test::quote("cd"));
    CHECK(shown(reader.try_read(1)) == "declined");
    CHECK(reader.exception() != nullptr);
  }
}

TEST_CASE("try_readline declines while readline is discarding an over-long line", "[try_read][readline][cancel]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("abcdefgh");
    costream::error_code ec;
    // readline drops the over-long line as it comes and waits for its end;
    // cancelled, it goes on discarding next time.
    auto winner = co_await (reader.readline(ec) || test::sleep_for(5ms));
    CHECK(winner.index() == 1);
    reader.feed_data("ijk\nok\n");
    // "ijk\n" is the end of the dropped line, not a line.
    std::optional<std::string_view> line = reader.try_readline();
    CHECK(shown(line) == "declined");
    costream::error_code code;
    (void)co_await reader.readline(code);
    CHECK(code == errc::line_too_long);
    line = reader.try_readline();
    CHECK(shown(line) == test::quote("ok\n"));
  });
}

TEST_CASE("try_readuntil finds a separator that starts within the limit, however it was fed",
          "[try_read][readuntil]") {
  for (const auto& chunks : test::chunkings("abc\r\nde\r\n")) {
    INFO("chunks: " << test::describe(chunks));
    asio::io_context io;
    stream_reader reader(io.get_executor(), 3);
    std::string got;
    for (const std::string& chunk : chunks) {
      reader.feed_data(chunk);
      while (std::optional<std::string_view> record = reader.try_readuntil("\r\n")) got += "[" + std::string(*record) + "]";
    }
    CHECK(got == "[abc\r\n][de\r\n]");
    CHECK(reader.buffered().empty());
  }
  asio::io_context io;
  stream_reader reader(io.get_executor(), 3);
  reader.feed_data("abcd\r\n");
  // The separator starts at 4, past the limit: readuntil reports limit_overrun.
  CHECK(shown(reader.try_readuntil("\r\n")) == "declined");
  CHECK(shown(reader.try_readuntil("d\r")) == test::quote("abcd\r"));
  // readuntil reports the empty separator.
  CHECK(shown(reader.try_readuntil("")) == "declined");
  CHECK(reader.buffered() == "\n");
}

TEST_CASE("try_readexactly and try_read take what the buffer holds and nothing more", "[try_read][readexactly][read]") {
  asio::io_context io;
  stream_reader reader(io.get_executor(), 2);
  CHECK(shown(reader.try_readexactly(0)) == test::quote(""));
  CHECK(shown(reader.try_read(0)) == test::quote(""));
  CHECK(shown(reader.try_read(3)) == "declined");
  reader.feed_data("abcdef");
  // Neither is bounded by the limit.
  CHECK(shown(reader.try_readexactly(7)) == "declined");
  CHECK(shown(reader.try_readexactly(4)) == test::quote("abcd"));
  CHECK(shown(reader.try_read(5)) == test::quote("ef"));
  CHECK(reader.buffered().empty());
}

TEST_CASE("a try_ read's view holds its bytes until the reader is next used", "[try_read]") {
  asio::io_context io;
  stream_reader reader(io.get_executor(), 64);
  reader.feed_data("first line\nsecond line\n");
  const std::optional<std::string_view> first = reader.try_readline();
  const std::optional<std::string_view> second = reader.try_readline();
  // The buffer is empty now (and back at its start), but nothing wrote to it.
  CHECK(reader.buffered().empty());
  CHECK(shown(first) == test::quote("first line\n"));
  CHECK(shown(second) == test::quote("second line\n"));
}

TEST_CASE("a try_ read takes bytes while another read waits, and that read then waits for the rest",
          "[try_read][concurrent]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    std::string got;
    bool done = false;
    asio::co_spawn(reader.get_executor(), readexactly_into(reader, 4, got, done), test::rethrow);
    co_await test::yield_turns();
    reader.feed_data("ab");
    co_await test::yield_turns();
    CHECK_FALSE(done);
    std::optional<std::string_view> one = reader.try_read(1);
    CHECK(shown(one) == test::quote("a"));
    reader.feed_data("cde");
    while (!done) co_await test::yield_turns(1);
    CHECK(got == "bcde");
    CHECK(reader.buffered().empty());
  });
}

TEST_CASE("try_readline and readline together read every line of any chunking", "[try_read][readline]") {
  const std::string input = "one\ntwo\n\nthree is longer\nfour";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 64);
      test::spawn_feeder(reader, chunks);
      std::string all;
      std::size_t tried = 0;
      for (std::string owned;;) {
        std::optional<std::string_view> line = reader.try_readline();
        if (line) {
          ++tried;
        } else {
          line = owned = co_await reader.readline();
        }
        if (line->empty()) break;
        all += "[" + std::string(*line) + "]";
      }
      CHECK(all == "[one\n][two\n][\n][three is longer\n][four]");
      // Fed whole: readline waits for the feed, then the three other whole
      // lines come without waiting.
      if (chunks.size() == 1) CHECK(tried == 3);
    });
  }
}
