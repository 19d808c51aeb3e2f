// tests/unit/chunking_property_test.cpp: random inputs and read scripts give the model's results, the same whatever the chunking.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
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

namespace {

// splitmix64: the same numbers on every standard library.
class random_source {
 public:
  explicit random_source(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
  bool chance(std::size_t percent) { return below(100) < percent; }

 private:
  std::uint64_t state_;
};

enum class stream_end { eof, error, eof_then_error, open };

struct property_case {
  std::size_t limit = 1;
  std::string input;
  std::vector<read_request> reads;
  stream_end end = stream_end::eof;
  test::stored_error error = test::stored_error::connection_reset;
  bool chunking_invariant = true;  // no read(n) in the script
};

char random_byte(random_source& rng) {
  const std::size_t r = rng.below(100);
  if (r < 35) return 'a';
  if (r < 60) return 'b';
  if (r < 80) return '\n';
  if (r < 95) return '\r';
  return r < 98 ? 'x' : '\0';
}

std::string random_separator(random_source& rng) {
  std::string sep;
  const std::size_t size = 1 + rng.below(rng.chance(60) ? 1 : 3);
  for (std::size_t i = 0; i < size; ++i) sep += random_byte(rng);
  return sep;
}

read_request random_read(random_source& rng, const property_case& c) {
  read_request r;
  r.form = rng.chance(50) ? read_form::throwing : read_form::error_code;
  const std::size_t k = rng.below(100);
  if (k < 30 || (k >= 88 && c.chunking_invariant)) {
    r.kind = read_kind::readline;
  } else if (k < 62) {
    r.kind = read_kind::readuntil;
    r.separator_list = k >= 50;
    r.separators.push_back(random_separator(rng));
    if (r.separator_list) {
      const std::size_t more = 1 + rng.below(2);
      for (std::size_t i = 0; i < more; ++i) r.separators.push_back(random_separator(rng));
      r.initializer_list = rng.chance(50);
    }
    if (rng.chance(30)) r.form = read_form::error_code_consumed;
    if (r.initializer_list) r.form = read_form::throwing;
  } else if (k < 80) {
    r.kind = read_kind::readexactly;
    r.n = rng.below(2 * c.limit + 4);
  } else if (k < 88) {
    r.kind = read_kind::read_all;
  } else {
    r.kind = read_kind::read_some;
    r.n = rng.below(2 * c.limit + 2);
  }
  // A quarter of the reads that have a try_ form try it first.
  if (r.kind != read_kind::read_all && !r.separator_list && rng.chance(25)) r.try_first = true;
  return r;
}

property_case random_case(std::uint64_t seed) {
  random_source rng(seed);
  property_case c;
  c.limit = 1 + rng.below(12);
  const std::size_t size = rng.below(49);
  for (std::size_t i = 0; i < size; ++i) c.input += random_byte(rng);
  c.chunking_invariant = rng.below(3) != 0;
  const std::size_t reads = 1 + rng.below(8);
  for (std::size_t i = 0; i < reads; ++i) c.reads.push_back(random_read(rng, c));
  const std::size_t e = rng.below(10);
  c.end = e < 6 ? stream_end::eof : e < 8 ? stream_end::error : e < 9 ? stream_end::eof_then_error : stream_end::open;
  c.error = static_cast<test::stored_error>(rng.below(3));
  return c;
}

using test::chunking;

// Whole, byte by byte, three random cuttings, and one with empty pieces
// (ignored by feed_data, which must then wake nobody).
std::vector<chunking> chunkings_of(const std::string& input, std::uint64_t seed) {
  std::vector<chunking> all;
  all.push_back(input.empty() ? chunking{} : chunking{input});
  chunking bytes;
  for (char ch : input) bytes.emplace_back(1, ch);
  all.push_back(bytes);
  random_source rng(seed ^ 0x5eedULL);
  for (int variant = 0; variant < 4; ++variant) {
    chunking pieces(1);
    for (std::size_t i = 0; i < input.size(); ++i) {
      if (i > 0 && rng.chance(35)) pieces.emplace_back();
      if (variant == 3 && rng.chance(20)) pieces.emplace_back();
      pieces.back() += input[i];
    }
    all.push_back(pieces);
  }
  return all;
}

std::string describe(const chunking& pieces) { return test::describe(pieces); }

std::string describe(const property_case& c) {
  std::string out = "limit " + std::to_string(c.limit) + ", input " + test::quote(c.input) + ", end ";
  out += c.end == stream_end::eof              ? "eof"
         : c.end == stream_end::error          ? "error"
         : c.end == stream_end::eof_then_error ? "eof then error"
                                               : "open";
  out += ", reads:";
  for (const read_request& r : c.reads) out += " " + test::describe(r);
  return out;
}

struct script_result {
  std::vector<std::optional<read_outcome>> outcomes;  // one per read; nullopt: waiting or never started
  std::string buffered;
  bool at_eof = false;
  std::string failure;  // the first difference from the model
};

script_result run_script(const property_case& c, const chunking& pieces) {
  script_result result;
  test::reader_check check(c.limit);
  std::size_t next = 0;
  // Starts reads until one waits.
  const auto pump = [&] {
    while (next < c.reads.size() && !check.waiting() && !check.failed()) check.start(c.reads[next++]);
  };
  pump();
  for (const std::string& piece : pieces) {
    check.feed_data(piece);
    pump();
  }
  if (c.end == stream_end::eof || c.end == stream_end::eof_then_error) {
    check.feed_eof();
    pump();
  }
  if (c.end == stream_end::error || c.end == stream_end::eof_then_error) {
    check.set_exception(c.error);
    pump();
  }
  result.outcomes = check.outcomes();
  result.outcomes.resize(c.reads.size());
  result.buffered = std::string(check.reader().buffered());
  result.at_eof = check.reader().at_eof();
  check.finish();  // a read still waiting completes at end of stream, as the model says
  result.failure = check.failure();
  return result;
}

// What cannot depend on the chunking.
std::vector<std::optional<read_outcome>> invariant_part(std::vector<std::optional<read_outcome>> outcomes) {
  for (std::optional<read_outcome>& o : outcomes)
    if (o && o->ec == errc::limit_overrun) o->consumed.reset();
  return outcomes;
}

std::string describe(const std::vector<std::optional<read_outcome>>& outcomes) {
  std::string out;
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    out += "  #" + std::to_string(i) + " " + (outcomes[i] ? test::describe(*outcomes[i]) : "(waits)") + "\n";
  return out;
}

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
