// tests/unit/chunking_property_test.cpp: random inputs and read scripts give the model's results, the same whatever the chunking.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/property_cases.hpp"
#include "support/reader_model.hpp"

#include <costream/costream.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

// Each case is a limit, an input, how the stream ends and a script of reads.
// The input is fed in several chunkings (whole, one byte at a time, random
// cuts, random cuts with empty pieces between them); the reads are started
// one after another, the next as soon as the previous one completes, on a
// stream_reader fed by hand and polled after every step (test::reader_check,
// which also runs the reference model beside it: nothing can hang). Every
// outcome and the reader's state after every step must equal the model's.
// Scripts without read(n), whose results cannot depend on the chunking,
// must moreover give the same outcomes under every chunking (a readuntil
// limit overrun's consumed() excepted: asyncio's, and so costream's, counts
// the bytes scanned when the limit was passed).
//
// The fuzzer (fuzz/reader_fuzz.cpp) runs the same checker on scripts with
// concurrent reads, errors and feeds in any order.

using namespace costream;
using test::read_form;
using test::read_kind;
using test::read_outcome;
using test::read_request;
using test::chunking;
using test::property_case;
using test::script_result;
using test::chunkings_of;
using test::describe;
using test::invariant_part;
using test::random_case;
using test::run_script;

namespace {
read_request request(read_kind kind, std::size_t n = 0, read_form form = read_form::error_code) {
  read_request r;
  r.kind = kind;
  r.n = n;
  r.form = form;
  return r;
}

// An outcome as text ("(waits)" for none), so that a failed CHECK shows it.
std::string text(const std::optional<read_outcome>& o) {
  return o ? test::describe(*o) : std::string("(waits)");
}

std::string data(std::string bytes) {
  return text(read_outcome{std::move(bytes), {}, {}, {}});
}

}  // namespace

TEST_CASE("every chunking of the input gives the model's results, and the same results", "[property][reader]") {
  constexpr std::uint64_t cases = 1500;
  std::size_t invariant_checked = 0;
  for (std::uint64_t seed = 1; seed <= cases; ++seed) {
    const property_case c = random_case(seed);
    std::optional<script_result> first;
    chunking first_pieces;
    for (const chunking& pieces : chunkings_of(c.input, seed)) {
      const script_result r = run_script(c, pieces);
      if (!r.failure.empty()) {
        FAIL("seed " << seed << ": " << describe(c) << "\nchunks: " << describe(pieces) << "\n" << r.failure);
      }
      if (!c.chunking_invariant) continue;
      if (!first) {
        first = r;
        first_pieces = pieces;
        ++invariant_checked;
        continue;
      }
      if (invariant_part(r.outcomes) != invariant_part(first->outcomes) || r.buffered != first->buffered ||
          r.at_eof != first->at_eof) {
        FAIL("seed " << seed << ": " << describe(c) << "\nchunks " << describe(first_pieces) << " give\n"
                     << describe(first->outcomes) << "  buffered " << test::quote(first->buffered) << "\nchunks "
                     << describe(pieces) << " give\n"
                     << describe(r.outcomes) << "  buffered " << test::quote(r.buffered));
      }
    }
  }
  INFO("cases compared across chunkings: " << invariant_checked);
  CHECK(invariant_checked > cases / 2);
}

TEST_CASE("the model follows the documented rules", "[property][reader]") {
  SECTION("readline drops an over-long line whole and reports its length") {
    test::reader_model m(3);
    CHECK_FALSE(m.start(request(read_kind::readline)));
    m.feed_data("abcd");
    CHECK_FALSE(m.settle());  // discarding, waiting for the newline
    m.feed_data("ef\nok\n");
    const auto r = m.settle();
    REQUIRE(r);
    CHECK(r->ec == errc::line_too_long);
    CHECK(r->consumed == std::optional<std::size_t>(6));
    CHECK(m.buffered() == "ok\n");
  }
  SECTION("readuntil over the limit leaves the data buffered") {
    test::reader_model m(2);
    m.feed_data("abcd|");
    read_request r = request(read_kind::readuntil);
    r.separators = {"|"};
    const auto o = m.start(r);
    REQUIRE(o);
    CHECK(o->ec == errc::limit_overrun);
    CHECK(o->consumed == std::optional<std::size_t>(4));
    CHECK(m.buffered() == "abcd|");
  }
  SECTION("the earliest-ending separator wins, the shortest of those ending together") {
    test::reader_model m(16);
    m.feed_data("xx\r\nyy\n");
    read_request r = request(read_kind::readuntil);
    r.separators = {"\n", "\r\n", "x\r\n"};
    const auto o = m.start(r);
    REQUIRE(o);
    CHECK(text(o) == data("xx\r\n"));
  }
  SECTION("buffered bytes come before a stored error") {
    test::reader_model m(8);
    m.feed_data("ab\ncd");
    m.set_exception(asio::error::connection_reset);
    CHECK(text(m.start(request(read_kind::readline))) == data("ab\n"));
    const auto failed = m.start(request(read_kind::readexactly, 3));
    REQUIRE(failed);
    CHECK(failed->ec == asio::error::connection_reset);
    CHECK(text(m.start(request(read_kind::read_some, 5))) == data("cd"));
  }
  SECTION("a second read that must wait fails and changes nothing") {
    test::reader_model m(8);
    m.feed_data("abc");
    CHECK_FALSE(m.start(request(read_kind::readexactly, 5)));
    const auto second = m.start(request(read_kind::readline));
    REQUIRE(second);
    CHECK(second->ec == errc::concurrent_read);
    CHECK(m.buffered() == "abc");
  }
}

// Regressions: departures from the rules that the model and the fuzzer found
// in the implementation (now fixed), each reduced to its smallest script; the
// fuzz corpus keeps them as fuzz/corpus/reader/seed_bug_*.

TEST_CASE("a readline waiting while another read consumes bytes still finds the next newline",
          "[property][readline]") {
  test::reader_check check(10);
  check.feed_data("ab");
  check.start(request(read_kind::readline));        // waits, having searched "ab"
  check.start(request(read_kind::read_some, 1));    // "a" while it waits: the buffer is "b"
  check.feed_data("\n");                             // the line is "b\n"
  CHECK(check.failure() == "");
  REQUIRE(check.outcomes().size() == 2);
  CHECK(text(check.outcomes()[0]) == data("b\n"));
  check.feed_data("c\n");
  check.finish();
  CHECK(check.failure() == "");
}

TEST_CASE("readline leaves an over-long line buffered when an error is stored", "[property][readline]") {
  test::reader_check check(2);
  check.feed_data("aaaaa");
  check.set_exception(test::stored_error::connection_reset);
  check.start(request(read_kind::readline));     // raises the error: the line cannot complete...
  CHECK(check.failure() == "");
  CHECK(check.reader().buffered() == "aaaaa");   // ...so the bytes stay
  check.start(request(read_kind::read_some, 10));
  REQUIRE(check.outcomes().size() == 2);
  CHECK(text(check.outcomes()[1]) == data("aaaaa"));
  CHECK(check.failure() == "");
}

TEST_CASE("a readline that fails with concurrent_read leaves an over-long line buffered",
          "[property][readline]") {
  test::reader_check check(2);
  check.feed_data("aaaaa");
  check.start(request(read_kind::readexactly, 10));  // waits
  check.start(request(read_kind::readline));          // must wait too: concurrent_read
  CHECK(check.failure() == "");
  CHECK(check.reader().buffered() == "aaaaa");         // untouched
  check.feed_data("bbbbb");
  REQUIRE(check.outcomes().size() == 2);
  CHECK(text(check.outcomes()[0]) == data("aaaaabbbbb"));
  CHECK(check.failure() == "");
}

// Found by the fuzzer in CI (fuzz/corpus/reader/crash-concurrent-readline-while-discarding).
TEST_CASE("a readline that goes on discarding while another read waits leaves the buffer to that read",
          "[property][readline]") {
  test::reader_check check(4);
  check.start(request(read_kind::readline));  // waits
  check.feed_data("ababcdef");                // over the limit: #0 starts discarding
  check.cancel();                             // #0 ends, the reader goes on discarding later
  check.start(request(read_kind::read_all));  // waits for end of stream
  check.feed_data("hhhhhhhhhh");
  check.start(request(read_kind::readline));  // would wait: concurrent_read, buffer untouched
  CHECK(check.failure() == "");
  CHECK(check.reader().buffered() == "hhhhhhhhhh");
  check.finish();
  CHECK(check.failure() == "");
}
