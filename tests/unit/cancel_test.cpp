// tests/unit/cancel_test.cpp: cancelling a waiting read consumes nothing, and a second waiting read is refused.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <variant>

using namespace costream;
using namespace std::chrono_literals;
using namespace asio::experimental::awaitable_operators;

namespace {

// A read, as the tests start it: through the throwing form.
using read_op = std::function<asio::awaitable<std::string>(stream_reader)>;

struct named_op {
  const char* name;
  read_op op;
};

// Reads that must wait for more than "ab|c" (and, fed "ab|cd\n" in the end,
// complete with a known result).
const named_op waiting_reads[] = {
    {"read()", [](stream_reader r) { return r.read(); }},
    {"readline()", [](stream_reader r) { return r.readline(); }},
    {"readuntil(\"\\n\")", [](stream_reader r) { return r.readuntil("\n"); }},
    {"readuntil({\"\\n\", \"|cd!\"})", [](stream_reader r) { return r.readuntil({"\n", "|cd!"}); }},
    {"readexactly(6)", [](stream_reader r) { return r.readexactly(6); }},
};

// What each of waiting_reads returns once "ab|cd\n" and end of stream are fed.
constexpr std::string_view waiting_result = "ab|cd\n";

// Runs `op` and records how it ended (the error of a throwing read).
asio::awaitable<void> capture(asio::awaitable<std::string> op, std::string& data, costream::error_code& ec, bool& done) {
  try {
    data = co_await std::move(op);
  } catch (const costream::system_error& e) {
    ec = e.code();
  }
  done = true;
}

// Feeds the pieces one per turn, without end of stream, then says so.
asio::awaitable<void> feed_and_flag(stream_reader reader, test::chunking chunks, bool& fed) {
  co_await test::feed_chunks(reader, std::move(chunks), {false, nullptr});
  fed = true;
}

// Completes a little after every piece was fed: the racing read is then
// waiting for bytes that never come, whatever the chunking.
asio::awaitable<void> timer_after(const bool& fed) {
  while (!fed) co_await test::yield_turns(1);
  co_await test::sleep_for(5ms);
}

}  // namespace

TEST_CASE("a read cancelled by a timer race consumes nothing and leaves the reader usable", "[cancel]") {
  const std::string head = "ab|c";
  for (std::size_t i = 0; i < std::size(waiting_reads); ++i) {
    for (const auto& chunks : test::chunkings(head)) {
      INFO(waiting_reads[i].name << ", chunks: " << test::describe(chunks));
      test::run([&]() -> asio::awaitable<void> {
        const auto ex = co_await asio::this_coro::executor;
        stream_reader reader(ex, 16);
        bool fed = false;
        asio::co_spawn(ex, feed_and_flag(reader, chunks, fed), test::rethrow);
        std::string data;
        costream::error_code ec;
        bool done = false;
        auto winner = co_await (capture(waiting_reads[i].op(reader), data, ec, done) || timer_after(fed));
        CHECK(winner.index() == 1);
        CHECK(done);
        CHECK(ec == asio::error::operation_aborted);
        CHECK(data.empty());
        CHECK(reader.buffered() == head);
        // Usable: the same read completes once the rest arrives.
        test::spawn_feeder(reader, {"d\n"});
        auto got = co_await waiting_reads[i].op(reader);
        CHECK(got == waiting_result);
      });
    }
  }
}

TEST_CASE("read(n) cancelled while waiting leaves the reader usable", "[cancel][read]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    std::string data;
    costream::error_code ec;
    bool done = false;
    auto winner = co_await (capture(reader.read(5), data, ec, done) || test::sleep_for(5ms));
    CHECK(winner.index() == 1);
    CHECK(ec == asio::error::operation_aborted);
    test::spawn_feeder(reader, {"xy"}, {false, nullptr});
    auto got = co_await reader.read(5);
    CHECK(got == "xy");
  });
}

TEST_CASE("the no-throw form of a cancelled read reports operation_aborted", "[cancel][error_code]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    reader.feed_data("abc");
    costream::error_code ec;
    auto winner = co_await (reader.readexactly(5, ec) || test::sleep_for(5ms));
    CHECK(winner.index() == 1);
    CHECK(ec == asio::error::operation_aborted);
    CHECK(reader.buffered() == "abc");
  });
}

TEST_CASE("a read cancelled through a cancellation slot completes with operation_aborted", "[cancel]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader reader(ex, 8);
    reader.feed_data("par");
    asio::cancellation_signal signal;
    std::string data;
    costream::error_code ec;
    bool done = false;
    asio::co_spawn(ex, capture(reader.readuntil("\r\n"), data, ec, done),
                   asio::bind_cancellation_slot(signal.slot(), test::rethrow));
    co_await test::yield_turns();
    CHECK_FALSE(done);
    signal.emit(asio::cancellation_type::terminal);
    while (!done) co_await test::yield_turns(1);
    CHECK(ec == asio::error::operation_aborted);
    CHECK(data.empty());
    CHECK(reader.buffered() == "par");
    reader.feed_data("tial\r\n");
    auto got = co_await reader.readuntil("\r\n");
    CHECK(got == "partial\r\n");
  });
}

TEST_CASE("a read cancelled just as its data arrives consumes nothing", "[cancel]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader reader(ex, 8);
    asio::cancellation_signal signal;
    std::string data;
    costream::error_code ec;
    bool done = false;
    asio::co_spawn(ex, capture(reader.readline(), data, ec, done),
                   asio::bind_cancellation_slot(signal.slot(), test::rethrow));
    co_await test::yield_turns();
    REQUIRE_FALSE(done);
    // The data wakes the read, and the cancellation comes before it resumes.
    reader.feed_data("line\n");
    signal.emit(asio::cancellation_type::terminal);
    while (!done) co_await test::yield_turns(1);
    CHECK(ec == asio::error::operation_aborted);
    CHECK(data.empty());
    CHECK(reader.buffered() == "line\n");
    auto line = co_await reader.readline();
    CHECK(line == "line\n");
  });
}

TEST_CASE("readline cancelled while discarding an over-long line goes on discarding next time",
          "[cancel][readline]") {
  const std::string tail = "ijk\nok\n";
  for (const auto& chunks : test::chunkings(tail)) {
    INFO("chunks: " << test::describe(chunks));
    test::run([&]() -> asio::awaitable<void> {
      stream_reader reader(co_await asio::this_coro::executor, 4);
      reader.feed_data("abcdefgh");
      std::string data;
      costream::error_code ec;
      bool done = false;
      auto winner = co_await (capture(reader.readline(), data, ec, done) || test::sleep_for(5ms));
      CHECK(winner.index() == 1);
      CHECK(ec == asio::error::operation_aborted);
      // What was discarded stays discarded.
      CHECK(reader.buffered().empty());
      test::spawn_feeder(reader, chunks);
      std::size_t consumed = 0;
      costream::error_code code;
      try {
        (void)co_await reader.readline();
      } catch (const limit_overrun_error& e) {
        consumed = e.consumed();
        code = e.code();
      }
      CHECK(code == errc::line_too_long);
      CHECK(consumed == 11);
      auto next = co_await reader.readline();
      CHECK(next == "ok\n");
    });
  }
}

TEST_CASE("a second read that must wait while one waits fails with concurrent_read", "[cancel][concurrent]") {
  // Each second read, while a readline waits on "ab".
  const named_op second_reads[] = {
      {"read(1)", [](stream_reader r) { return r.read(1); }},
      {"read()", [](stream_reader r) { return r.read(); }},
      {"readline()", [](stream_reader r) { return r.readline(); }},
      {"readuntil(\";\")", [](stream_reader r) { return r.readuntil(";"); }},
      {"readexactly(3)", [](stream_reader r) { return r.readexactly(3); }},
  };
  for (const auto& second : second_reads) {
    INFO("second read: " << second.name);
    test::run([&]() -> asio::awaitable<void> {
      const auto ex = co_await asio::this_coro::executor;
      stream_reader reader(ex, 8);
      if (std::string_view(second.name) != "read(1)") reader.feed_data("ab");
      std::string first_data;
      costream::error_code first_ec;
      bool first_done = false;
      asio::co_spawn(ex, capture(reader.readline(), first_data, first_ec, first_done), test::rethrow);
      co_await test::yield_turns();
      REQUIRE_FALSE(first_done);
      const std::string before(reader.buffered());

      costream::error_code ec;
      std::string data = "(not set)";
      try {
        data = co_await second.op(reader);
      } catch (const costream::system_error& e) {
        ec = e.code();
      }
      CHECK(ec == errc::concurrent_read);
      CHECK(reader.buffered() == before);

      // The first read is not disturbed.
      reader.feed_data("c\n");
      while (!first_done) co_await test::yield_turns(1);
      CHECK_FALSE(first_ec);
      CHECK(first_data == before + "c\n");
    });
  }
}

TEST_CASE("the no-throw form of a concurrent read reports concurrent_read", "[cancel][concurrent][error_code]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader reader(ex, 8);
    std::string first_data;
    costream::error_code first_ec;
    bool first_done = false;
    asio::co_spawn(ex, capture(reader.readexactly(2), first_data, first_ec, first_done), test::rethrow);
    co_await test::yield_turns();
    costream::error_code ec;
    auto got = co_await reader.readexactly(2, ec);
    CHECK(ec == errc::concurrent_read);
    CHECK(got.empty());
    reader.feed_data("zz");
    while (!first_done) co_await test::yield_turns(1);
    CHECK(first_data == "zz");
  });
}

TEST_CASE("after a cancelled read, another read may wait", "[cancel][concurrent]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 8);
    std::string data;
    costream::error_code ec;
    bool done = false;
    (void)co_await (capture(reader.readline(), data, ec, done) || test::sleep_for(5ms));
    REQUIRE(ec == asio::error::operation_aborted);
    test::spawn_feeder(reader, {"a", "b\n"});
    auto line = co_await reader.readline();
    CHECK(line == "ab\n");
  });
}

TEST_CASE("a read that the buffer completes is not refused while another read waits", "[cancel][concurrent]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader reader(ex, 8);
    reader.feed_data("abc");
    std::string first_data;
    costream::error_code first_ec;
    bool first_done = false;
    asio::co_spawn(ex, capture(reader.readexactly(5), first_data, first_ec, first_done), test::rethrow);
    co_await test::yield_turns();
    auto zero = co_await reader.read(0);
    CHECK(zero.empty());
    CHECK(reader.buffered() == "abc");
    reader.feed_data("de");
    while (!first_done) co_await test::yield_turns(1);
    CHECK(first_data == "abcde");
  });
}

TEST_CASE("a read in a coroutine cancelled before it waits reports operation_aborted at once", "[cancel][error_code]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader reader(ex, 8);
    reader.feed_data("par");
    asio::cancellation_signal signal;
    costream::error_code ec;
    bool emitted = false;
    bool done = false;
    auto body = [&]() -> asio::awaitable<void> {
      // Asio would otherwise refuse the await itself; the read must not
      // wait for a cancellation that has already come.
      co_await asio::this_coro::throw_if_cancelled(false);
      while (!emitted) co_await test::yield_turns(1);
      std::string line = co_await reader.readline(ec);
      CHECK(line.empty());
      done = true;
    };
    asio::co_spawn(ex, body(), asio::bind_cancellation_slot(signal.slot(), test::rethrow));
    co_await test::yield_turns();
    signal.emit(asio::cancellation_type::terminal);
    emitted = true;
    while (!done) co_await test::yield_turns(1);
    CHECK(ec == asio::error::operation_aborted);
    CHECK(reader.buffered() == "par");
  });
}
