// tests/unit/error_code_test.cpp: every read's no-throw form returns the same data and error as its throwing form.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/chunks.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include <cerrno>
#include <cstddef>
#include <exception>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

using namespace costream;

namespace {

enum class op_kind { read_n, read_all, readline, readuntil, readuntil_list, readexactly };

// How the feeder ends the input.
enum class ending { eof, reset, foreign_error };

// One read and the input it meets.
struct scenario {
  const char* name;
  op_kind kind;
  std::size_t n;                        // read_n, readexactly
  std::vector<std::string> separators;  // readuntil: the first; readuntil_list: all of them
  std::string input;
  ending end;
  costream::error_code expected;  // what both forms must report
};

// How a read ended, and the reader after it.
struct outcome {
  std::string data;  // the result, or an incomplete_read_error's partial()
  costream::error_code ec;
  std::size_t consumed = 0;
  std::optional<std::size_t> expected;  // throwing form only
  bool rethrew_stored = false;          // throwing form: the very exception stored
  std::string buffered;
  bool at_eof = false;
};

costream::error_code no_error() { return {}; }

// Starts the read; the throwing form when ec is null, and readuntil's form
// with `consumed` when that is not null.
asio::awaitable<std::string> start(stream_reader& r, const scenario& s, costream::error_code* ec, std::size_t* consumed) {
  switch (s.kind) {
    case op_kind::read_n:
      return ec != nullptr ? r.read(s.n, *ec) : r.read(s.n);
    case op_kind::read_all:
      return ec != nullptr ? r.read(*ec) : r.read();
    case op_kind::readline:
      return ec != nullptr ? r.readline(*ec) : r.readline();
    case op_kind::readuntil: {
      const std::string_view sep = s.separators.front();
      if (ec == nullptr) return r.readuntil(sep);
      return consumed != nullptr ? r.readuntil(sep, *ec, *consumed) : r.readuntil(sep, *ec);
    }
    case op_kind::readuntil_list: {
      // The separators are copied when the read is started.
      const std::vector<std::string_view> seps(s.separators.begin(), s.separators.end());
      const std::span<const std::string_view> list(seps);
      if (ec == nullptr) return r.readuntil(list);
      return consumed != nullptr ? r.readuntil(list, *ec, *consumed) : r.readuntil(list, *ec);
    }
    case op_kind::readexactly:
      return ec != nullptr ? r.readexactly(s.n, *ec) : r.readexactly(s.n);
  }
  throw std::logic_error("unknown op_kind");
}

std::exception_ptr make_error(ending end) {
  switch (end) {
    case ending::eof: return nullptr;
    case ending::reset: return std::make_exception_ptr(costream::system_error(costream::error_code(asio::error::connection_reset)));
    case ending::foreign_error: return std::make_exception_ptr(std::runtime_error("not a system_error"));
  }
  return nullptr;
}

void feed(stream_reader& reader, const scenario& s, const test::chunking& chunks) {
  test::spawn_feeder(reader, chunks, {s.end == ending::eof, make_error(s.end)});
}

asio::awaitable<outcome> run_throwing(stream_reader reader, const scenario& s, const test::chunking& chunks) {
  feed(reader, s, chunks);
  outcome o;
  try {
    o.data = co_await start(reader, s, nullptr, nullptr);
  } catch (const incomplete_read_error& e) {
    o.data = e.partial();
    o.ec = e.code();
    o.expected = e.expected();
  } catch (const limit_overrun_error& e) {
    o.ec = e.code();
    o.consumed = e.consumed();
  } catch (const costream::system_error& e) {
    o.ec = e.code();
    o.rethrew_stored = std::current_exception() == reader.exception();
  } catch (...) {
    // The no-throw forms report a stored exception that is not a
    // costream::system_error as errc::stored_exception.
    o.ec = errc::stored_exception;
    o.rethrew_stored = std::current_exception() == reader.exception();
  }
  o.buffered = reader.buffered();
  o.at_eof = reader.at_eof();
  co_return o;
}

asio::awaitable<outcome> run_no_throw(stream_reader reader, const scenario& s, const test::chunking& chunks,
                                      bool with_consumed) {
  feed(reader, s, chunks);
  outcome o;
  o.data = co_await start(reader, s, &o.ec, with_consumed ? &o.consumed : nullptr);
  o.buffered = reader.buffered();
  o.at_eof = reader.at_eof();
  co_return o;
}

const costream::error_code reset = asio::error::connection_reset;

const std::vector<scenario>& scenarios() {
  static const std::vector<scenario> all = {
      {"read(n) returns bytes", op_kind::read_n, 2, {}, "abc", ending::eof, no_error()},
      {"read(n) at end of stream", op_kind::read_n, 2, {}, "", ending::eof, no_error()},
      {"read(n) with the connection's error", op_kind::read_n, 2, {}, "", ending::reset, reset},
      {"read(n) with a foreign error", op_kind::read_n, 2, {}, "", ending::foreign_error, errc::stored_exception},
      {"read() to end of stream", op_kind::read_all, 0, {}, "abcdef", ending::eof, no_error()},
      {"read() with the connection's error", op_kind::read_all, 0, {}, "abc", ending::reset, reset},
      {"read() with a foreign error", op_kind::read_all, 0, {}, "abc", ending::foreign_error, errc::stored_exception},
      {"readline returns a line", op_kind::readline, 0, {}, "ab\ncd", ending::eof, no_error()},
      {"readline returns a partial line", op_kind::readline, 0, {}, "abc", ending::eof, no_error()},
      {"readline drops a long line", op_kind::readline, 0, {}, "abcdefg\nx", ending::eof, errc::line_too_long},
      {"readline drops a long last line", op_kind::readline, 0, {}, "abcdefgh", ending::eof, errc::line_too_long},
      {"readline with the connection's error", op_kind::readline, 0, {}, "ab", ending::reset, reset},
      {"readuntil returns a record", op_kind::readuntil, 0, {"\r\n"}, "ab\r\ncd", ending::eof, no_error()},
      {"readuntil at end of stream", op_kind::readuntil, 0, {"\r\n"}, "ab\r", ending::eof, errc::incomplete_read},
      {"readuntil over the limit", op_kind::readuntil, 0, {"\r\n"}, "abcdefg\r\n", ending::eof, errc::limit_overrun},
      {"readuntil with an empty separator", op_kind::readuntil, 0, {""}, "ab\n", ending::eof, errc::empty_separator},
      {"readuntil with a foreign error", op_kind::readuntil, 0, {"\n"}, "ab", ending::foreign_error,
       errc::stored_exception},
      {"readuntil(list) returns a record", op_kind::readuntil_list, 0, {"\r\n", "END"}, "aENDb", ending::eof,
       no_error()},
      {"readuntil(list) at end of stream", op_kind::readuntil_list, 0, {"\r\n", "END"}, "abEN", ending::eof,
       errc::incomplete_read},
      {"readuntil(list) over the limit", op_kind::readuntil_list, 0, {"\r\n", "END"}, "abcdefghEND", ending::eof,
       errc::limit_overrun},
      {"readuntil(list) empty", op_kind::readuntil_list, 0, {}, "ab\n", ending::eof, errc::empty_separator},
      {"readuntil(list) with the connection's error", op_kind::readuntil_list, 0, {"\r\n", "END"}, "abE",
       ending::reset, reset},
      {"readexactly returns n bytes", op_kind::readexactly, 4, {}, "abcdef", ending::eof, no_error()},
      {"readexactly(0)", op_kind::readexactly, 0, {}, "ab", ending::eof, no_error()},
      {"readexactly at end of stream", op_kind::readexactly, 5, {}, "abc", ending::eof, errc::incomplete_read},
      {"readexactly with the connection's error", op_kind::readexactly, 5, {}, "abc", ending::reset, reset},
      {"readexactly completes before the error", op_kind::readexactly, 4, {}, "abcdef", ending::reset, no_error()},
  };
  return all;
}

}  // namespace

TEST_CASE("every no-throw read returns the data and error of its throwing form", "[error_code]") {
  for (const scenario& s : scenarios()) {
    const bool readuntil = s.kind == op_kind::readuntil || s.kind == op_kind::readuntil_list;
    for (const bool with_consumed : {false, true}) {
      if (with_consumed && !readuntil) continue;
      for (const auto& chunks : test::chunkings(s.input)) {
        INFO(s.name << (with_consumed ? " (with consumed)" : "") << ", chunks: " << test::describe(chunks));
        test::run([&]() -> asio::awaitable<void> {
          const auto ex = co_await asio::this_coro::executor;
          const outcome thrown = co_await run_throwing(stream_reader(ex, 4), s, chunks);
          // Let the first feeder finish, so that the second read meets the same schedule.
          co_await test::yield_turns(static_cast<int>(chunks.size()) + 4);
          const outcome reported = co_await run_no_throw(stream_reader(ex, 4), s, chunks, with_consumed);
          CHECK(thrown.ec == s.expected);
          CHECK(reported.ec == thrown.ec);
          CHECK(reported.data == thrown.data);
          CHECK(reported.buffered == thrown.buffered);
          CHECK(reported.at_eof == thrown.at_eof);
          if (with_consumed) CHECK(reported.consumed == thrown.consumed);
          if (s.end != ending::eof && thrown.ec == s.expected && s.expected) CHECK(thrown.rethrew_stored);
          if (thrown.ec == errc::incomplete_read) {
            const std::optional<std::size_t> want =
                s.kind == op_kind::readexactly ? std::optional<std::size_t>(s.n) : std::nullopt;
            CHECK(thrown.expected == want);
          }
        });
      }
    }
  }
}

TEST_CASE("readuntil's no-throw form reports consumed as limit_overrun_error does", "[error_code][readuntil]") {
  test::run([&]() -> asio::awaitable<void> {
    const auto ex = co_await asio::this_coro::executor;
    stream_reader reader(ex, 4);
    reader.feed_data("abcdefg\nxy");
    costream::error_code ec;
    std::size_t consumed = 0;
    auto data = co_await reader.readuntil("\n", ec, consumed);
    CHECK(ec == errc::limit_overrun);
    CHECK(consumed == 7);
    CHECK(data.empty());
    CHECK(reader.buffered() == "abcdefg\nxy");
    std::size_t thrown_consumed = 0;
    try {
      (void)co_await reader.readuntil("\n");
    } catch (const limit_overrun_error& e) {
      thrown_consumed = e.consumed();
    }
    CHECK(thrown_consumed == consumed);
  });
}

TEST_CASE("a no-throw read clears the error_code it is given when it succeeds", "[error_code]") {
  test::run([&]() -> asio::awaitable<void> {
    stream_reader reader(co_await asio::this_coro::executor, 4);
    reader.feed_data("ab\ncd\nef\ngh");
    costream::error_code ec = make_error_code(errc::timed_out);
    auto line = co_await reader.readline(ec);
    CHECK(line == "ab\n");
    CHECK_FALSE(ec);
    ec = make_error_code(errc::timed_out);
    auto record = co_await reader.readuntil("\n", ec);
    CHECK(record == "cd\n");
    CHECK_FALSE(ec);
    ec = make_error_code(errc::timed_out);
    auto two = co_await reader.readexactly(2, ec);
    CHECK(two == "ef");
    CHECK_FALSE(ec);
    ec = make_error_code(errc::timed_out);
    auto some = co_await reader.read(1, ec);
    CHECK(some == "\n");
    CHECK_FALSE(ec);
    reader.feed_eof();
    ec = make_error_code(errc::timed_out);
    auto rest = co_await reader.read(ec);
    CHECK(rest == "gh");
    CHECK_FALSE(ec);
  });
}

TEST_CASE("system errors compare by errno whichever category Asio puts them in", "[error_code]") {
  // What Asio's sockets report for EMFILE and ECONNRESET.
  const costream::error_code emfile(EMFILE, asio::error::get_system_category());
  const costream::error_code reset = asio::error::connection_reset;
  CHECK(system_errno(emfile) == EMFILE);
  CHECK(is_errc(emfile, std::errc::too_many_files_open));
  CHECK_FALSE(is_errc(emfile, std::errc::too_many_files_open_in_system));
  CHECK(system_errno(reset) == ECONNRESET);
  CHECK(is_errc(reset, std::errc::connection_reset));
  CHECK(is_errc(std::make_error_code(std::errc::not_enough_memory), std::errc::not_enough_memory));
  // costream's own codes: by their documented conditions, never by value.
  CHECK(is_errc(make_error_code(errc::connection_lost), std::errc::connection_reset));
  CHECK(is_errc(make_error_code(errc::timed_out), std::errc::timed_out));
  CHECK(system_errno(make_error_code(errc::incomplete_read)) == 0);
  CHECK_FALSE(is_errc(make_error_code(errc::incomplete_read), static_cast<std::errc>(1)));
  CHECK_FALSE(is_errc(costream::error_code(), std::errc::connection_reset));
}
