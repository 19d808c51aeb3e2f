// tests/support/property_cases.hpp: the random cases of the reader's property test (a limit, an
// input, its chunkings, how the stream ends, a script of reads) and the script runner.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_PROPERTY_CASES_HPP
#define COSTREAM_TESTS_SUPPORT_PROPERTY_CASES_HPP

#include "support/reader_model.hpp"

#include <costream/costream.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace costream::test {

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
  stored_error error = stored_error::connection_reset;
  bool chunking_invariant = true;  // no read(n) in the script
};

inline char random_byte(random_source& rng) {
  const std::size_t r = rng.below(100);
  if (r < 35) return 'a';
  if (r < 60) return 'b';
  if (r < 80) return '\n';
  if (r < 95) return '\r';
  return r < 98 ? 'x' : '\0';
}

inline std::string random_separator(random_source& rng) {
  std::string sep;
  const std::size_t size = 1 + rng.below(rng.chance(60) ? 1 : 3);
  for (std::size_t i = 0; i < size; ++i) sep += random_byte(rng);
  return sep;
}

inline read_request random_read(random_source& rng, const property_case& c) {
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

inline property_case random_case(std::uint64_t seed) {
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
  c.error = static_cast<stored_error>(rng.below(3));
  return c;
}


// Whole, byte by byte, three random cuttings, and one with empty pieces
// (ignored by feed_data, which must then wake nobody).
inline std::vector<chunking> chunkings_of(const std::string& input, std::uint64_t seed) {
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

inline std::string describe(const property_case& c) {
  std::string out = "limit " + std::to_string(c.limit) + ", input " + quote(c.input) + ", end ";
  out += c.end == stream_end::eof              ? "eof"
         : c.end == stream_end::error          ? "error"
         : c.end == stream_end::eof_then_error ? "eof then error"
                                               : "open";
  out += ", reads:";
  for (const read_request& r : c.reads) out += " " + describe(r);
  return out;
}

struct script_result {
  std::vector<std::optional<read_outcome>> outcomes;  // one per read; nullopt: waiting or never started
  std::string buffered;
  bool at_eof = false;
  std::string failure;  // the first difference from the model
  std::size_t pauses = 0;  // over a socket: how often reading was found paused
};

/// Runs a case's script on a fresh reader_check (over a TCP connection when
/// `over_socket`, else fed by hand), feeding the input in `pieces`.
inline script_result run_script(const property_case& c, const chunking& pieces, bool over_socket = false) {
  script_result result;
  reader_check check(c.limit, over_socket);
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
  result.pauses = check.pauses();
  return result;
}

// What cannot depend on the chunking.
inline std::vector<std::optional<read_outcome>> invariant_part(std::vector<std::optional<read_outcome>> outcomes) {
  for (std::optional<read_outcome>& o : outcomes)
    if (o && o->ec == errc::limit_overrun) o->consumed.reset();
  return outcomes;
}

inline std::string describe(const std::vector<std::optional<read_outcome>>& outcomes) {
  std::string out;
  for (std::size_t i = 0; i < outcomes.size(); ++i)
    out += "  #" + std::to_string(i) + " " + (outcomes[i] ? describe(*outcomes[i]) : "(waits)") + "\n";
  return out;
}

}  // namespace costream::test

#endif
