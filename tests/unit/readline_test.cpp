// tests/unit/readline_test.cpp: readline's lines, its partial line at end of stream and its whole-line discard of over-long lines.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include <algorithm>
#include <cstddef>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

using namespace costream;

namespace {

// One readline's outcome: the line, or the limit_overrun_error it raised.
struct line_result {
  std::string line;
  bool overrun = false;
  costream::error_code code;
  std::size_t consumed = 0;
};

asio::awaitable<line_result> readline_result(stream_reader reader) {
  line_result r;
  try {
    r.line = co_await reader.readline();
  } catch (const limit_overrun_error& e) {
    r.overrun = true;
    r.code = e.code();
    r.consumed = e.consumed();
  }
  co_return r;
}

// Feeds pieces one per turn like test::feed_chunks, and records how many
// bytes were buffered just before each piece.
asio::awaitable<void> feed_and_watch(stream_reader reader, std::vector<std::string> chunks,
                                     std::vector<std::size_t>& buffered) {
  for (const std::string& piece : chunks) {
    co_await test::yield_turns(1);
    buffered.push_back(reader.buffered().size());
    reader.feed_data(piece);
  }
  co_await test::yield_turns(1);
  reader.feed_eof();
}

}  // namespace

TEST_CASE("readline returns each line with its newline", "[readline]") {
  const std::string input = "one\ntwo\n\nthree\n";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 8);
      test::spawn_feeder(reader, chunks);
      std::vector<std::string> lines;
      for (;;) {
        auto line = co_await reader.readline();
        if (line.empty()) break;
        lines.push_back(line);
      }
      CHECK(lines == std::vector<std::string>{"one\n", "two\n", "\n", "three\n"});
      CHECK(reader.at_eof());
    });
  }
}

TEST_CASE("readline returns the partial line at end of stream", "[readline]") {
  const std::string input = "full\npart";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 8);
      test::spawn_feeder(reader, chunks);
      auto first = co_await reader.readline();
      CHECK(first == "full\n");
      auto partial = co_await reader.readline();
      CHECK(partial == "part");
      CHECK(reader.at_eof());
      auto end = co_await reader.readline();
      CHECK(end.empty());
    });
  }
}

TEST_CASE("readline returns an empty string at end of stream with nothing buffered", "[readline]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor);
    SECTION("end of stream already fed") {
      reader.feed_eof();
    }
    SECTION("end of stream fed while readline waits") {
      test::spawn_feeder(reader, {});
    }
    auto line = co_await reader.readline();
    CHECK(line.empty());
    CHECK(reader.at_eof());
  });
}

TEST_CASE("readline leaves the bytes after the line buffered", "[readline]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("ab\ncd\nef");
    auto line = co_await reader.readline();
    CHECK(line == "ab\n");
    CHECK(reader.buffered() == "cd\nef");
  });
}

// readline() looks at the buffer when it is called, to pick the coroutine
// that serves the read, but reads nothing until it is awaited; these check
// that what happens in between is seen.
TEST_CASE("readline reads when awaited, not when made", "[readline]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("ab\n");
    {
      auto never_awaited = reader.readline();  // made while a line is buffered, then dropped
    }
    CHECK(reader.buffered() == "ab\n");

    // Made while a line is buffered; the line is taken before it is awaited.
    auto later = reader.readline();
    CHECK(reader.try_readline() == "ab\n");
    test::spawn_feeder(reader, {"c", "d\nrest"}, test::feed_end{.eof = false});
    const std::string taken_later = co_await std::move(later);
    CHECK(taken_later == "cd\n");
    CHECK(reader.buffered() == "rest");

    // Made while no line is buffered; one arrives before it is awaited.
    auto waiting = reader.readline();
    reader.feed_data("\nnext\n");
    const std::string arrived = co_await std::move(waiting);
    CHECK(arrived == "rest\n");
    CHECK(reader.buffered() == "next\n");

    // Made while a line is buffered; an over-long line replaces it before it
    // is awaited: that line is dropped whole, as any readline would.
    auto overrun = reader.readline();
    CHECK(reader.try_readline() == "next\n");
    reader.feed_data("0123456789\nok\n");
    error_code ec;
    try {
      co_await std::move(overrun);
    } catch (const limit_overrun_error& e) {
      ec = e.code();
    }
    CHECK(ec == errc::line_too_long);
    const std::string after = co_await reader.readline();
    CHECK(after == "ok\n");
  });
}

TEST_CASE("readline returns a line exactly as long as the limit", "[readline][limit]") {
  const std::string input = "abcd\nxy\n";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks);
      auto first = co_await reader.readline();
      CHECK(first == "abcd\n");
      auto second = co_await reader.readline();
      CHECK(second == "xy\n");
    });
  }
}

TEST_CASE("readline drops an over-long line whole and raises line_too_long", "[readline][limit]") {
  // Lines of 8 and 5 bytes (limit + 1) between short ones: whatever the chunking,
  // the long lines vanish through their newline and the short ones come back intact.
  const std::string input = "ab\nabcdefgh\ncd\nvwxyz\nok";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks);
      auto r1 = co_await readline_result(reader);
      CHECK_FALSE(r1.overrun);
      CHECK(r1.line == "ab\n");
      auto r2 = co_await readline_result(reader);
      CHECK(r2.overrun);
      CHECK(r2.code == errc::line_too_long);
      CHECK(r2.consumed == 8);
      auto r3 = co_await readline_result(reader);
      CHECK_FALSE(r3.overrun);
      CHECK(r3.line == "cd\n");
      auto r4 = co_await readline_result(reader);
      CHECK(r4.overrun);
      CHECK(r4.code == errc::line_too_long);
      CHECK(r4.consumed == 5);
      auto r5 = co_await readline_result(reader);
      CHECK_FALSE(r5.overrun);
      CHECK(r5.line == "ok");
      auto r6 = co_await readline_result(reader);
      CHECK_FALSE(r6.overrun);
      CHECK(r6.line.empty());
      CHECK(reader.at_eof());
    });
  }
}

TEST_CASE("readline drops an over-long line that end of stream cuts short", "[readline][limit]") {
  const std::string input = "x\ntoo long for it";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      test::spawn_feeder(reader, chunks);
      auto r1 = co_await readline_result(reader);
      CHECK(r1.line == "x\n");
      auto r2 = co_await readline_result(reader);
      CHECK(r2.overrun);
      CHECK(r2.code == errc::line_too_long);
      CHECK(r2.consumed == 15);
      CHECK(reader.at_eof());
      auto r3 = co_await readline_result(reader);
      CHECK_FALSE(r3.overrun);
      CHECK(r3.line.empty());
    });
  }
}

TEST_CASE("readline's limit_overrun_error is a costream::system_error with code line_too_long", "[readline][limit]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 2);
    reader.feed_data("abc\n");
    costream::error_code code;
    try {
      (void)co_await reader.readline();
    } catch (const costream::system_error& e) {
      code = e.code();
    }
    CHECK(code == errc::line_too_long);
    CHECK(std::error_code(code).category() == costream::error_category());
    CHECK(reader.buffered().empty());
  });
}

TEST_CASE("readline discards an over-long line in bounded memory", "[readline][limit]") {
  // 200 bytes of line fed 8 at a time to a reader with limit 8: while it
  // discards, readline drops each piece as it comes instead of collecting the line.
  test::run([&]() -> asio::awaitable<void> {
    constexpr std::size_t limit = 8;
    stream_reader reader(co_await asio::this_coro::executor, limit);
    const std::string line(200, 'z');
    std::vector<std::string> chunks;
    for (std::size_t at = 0; at < line.size(); at += limit) chunks.push_back(line.substr(at, limit));
    chunks.emplace_back("\nnext\n");
    std::vector<std::size_t> buffered;
    asio::co_spawn(reader.get_executor(), feed_and_watch(reader, chunks, buffered), test::rethrow);
    auto r1 = co_await readline_result(reader);
    CHECK(r1.overrun);
    CHECK(r1.consumed == 200);
    auto r2 = co_await readline_result(reader);
    CHECK(r2.line == "next\n");
    REQUIRE_FALSE(buffered.empty());
    CHECK(*std::max_element(buffered.begin(), buffered.end()) <= limit + 1);
  });
}

TEST_CASE("readline returns complete lines before raising a stored exception", "[readline][exception]") {
  const std::string input = "one\ntwo\npar";
  for (const auto& chunks : test::chunkings(input)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 8);
      test::spawn_feeder(reader, chunks,
                         {false, std::make_exception_ptr(costream::system_error(costream::error_code(asio::error::connection_reset)))});
      std::vector<std::string> lines;
      costream::error_code raised;
      for (;;) {
        try {
          lines.push_back(co_await reader.readline());
        } catch (const costream::system_error& e) {
          raised = e.code();
          break;
        }
      }
      CHECK(lines == std::vector<std::string>{"one\n", "two\n"});
      CHECK(raised == asio::error::connection_reset);
      // The partial line stays buffered for read(n).
      CHECK(reader.buffered() == "par");
      auto rest = co_await reader.read(10);
      CHECK(rest == "par");
    });
  }
}

// Regression: readline once read a stored exception's code as its own (a
// stored incomplete_read_error looked like end of stream, a stored
// limit_overrun_error started discarding the buffered line).
TEST_CASE("readline raises a stored exception even when it carries one of costream's own codes",
          "[readline][exception]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("par");
    SECTION("an incomplete_read_error") {
      reader.set_exception(std::make_exception_ptr(incomplete_read_error("xyz", 5)));
      bool thrown = false;
      std::string line = "(not set)";
      try {
        line = co_await reader.readline();
      } catch (const incomplete_read_error& e) {
        thrown = true;
        CHECK(e.partial() == "xyz");
      }
      INFO("readline returned \"" << line << "\"");
      CHECK(thrown);
      CHECK(reader.buffered() == "par");
    }
    SECTION("a limit_overrun_error") {
      reader.set_exception(std::make_exception_ptr(limit_overrun_error(errc::limit_overrun, 3)));
      bool thrown = false;
      costream::error_code code;
      try {
        (void)co_await reader.readline();
      } catch (const limit_overrun_error& e) {
        thrown = true;
        code = e.code();
      }
      CHECK(thrown);
      CHECK(code == errc::limit_overrun);
      CHECK(reader.buffered() == "par");
    }
  });
}
