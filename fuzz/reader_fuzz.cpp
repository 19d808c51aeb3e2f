// fuzz/reader_fuzz.cpp: libFuzzer target: scripts of feeds, ends, errors and reads on a stream_reader, checked step by step against the reference model.
// SPDX-License-Identifier: BSL-1.0
//
// The input is a script in this format (fuzz/make_corpus.py
// writes the seed corpus in it):
//   byte 0      limit = 1 + byte % 64
//   then steps, each an opcode byte (byte % 14) and its operands:
//   0  feed raw       len = byte % 64, then len bytes
//   1  feed alphabet  len = byte % 64, then len bytes, each mapped to "a\r\nb"[byte % 4]
//   2  feed run       count = byte, c = byte: count copies of c (0: an empty feed)
//   3  feed_eof
//   4  set_exception  byte % 3: asio connection_reset, costream connection_lost, std::runtime_error
//   5  read(n)        p = byte: form = p % 2 (throwing, error_code), n = p / 2
//   6  read()         p: form = p % 2
//   7  readline()     p: form = p % 2
//   8  readuntil(sep) p: form = p % 3 (throwing, error_code, error_code + consumed),
//                     alphabet = p / 3 % 2; len = byte % 4 (0: empty), then len bytes
//   9  readuntil({..})p: as 8, initializer_list = p / 6 % 2 (throwing form only);
//                     count = byte % 5 (0: empty list), each separator as in 8
//   10 readexactly(n) p: form = p % 2, n = p / 2
//   11 feed one byte  c = byte
//   12 cancel         the waiting read, if any
//   13 try_ read first p = byte: kind = p % 4 (read(n), readline(), readuntil(sep),
//                     readexactly(n)), n = p / 4; readuntil: alphabet = p / 4 % 2, then
//                     len = byte % 4 (0: empty), then len bytes. The try_ read runs first,
//                     the error_code form when it declines.
// A missing operand byte reads as 0. Reads are started with co_spawn while
// another read may be waiting (then they complete at once or fail with
// concurrent_read); after every step the io_context is polled and every
// outcome and the reader's state are compared with the model. At the end the
// stream is ended, so that a waiting read completes and is checked too.
//
// COSTREAM_FUZZ_TRACE=1 prints each input's steps and outcomes.
#include "support/reader_model.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

using costream::test::read_form;
using costream::test::read_kind;
using costream::test::read_request;
using costream::test::describe;

class byte_source {
 public:
  byte_source(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const noexcept { return at_ >= size_; }
  std::uint8_t next() noexcept { return at_ < size_ ? data_[at_++] : 0; }
  std::string bytes(std::size_t n, bool alphabet) {
    std::string out;
    for (std::size_t i = 0; i < n && !empty(); ++i) {
      const std::uint8_t b = next();
      out += alphabet ? "a\r\nb"[b % 4] : static_cast<char>(b);
    }
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' && *v != '0';
}

bool trace() {
  static const bool on = env_flag("COSTREAM_FUZZ_TRACE");
  return on;
}

read_request separators_request(byte_source& in, bool list) {
  const std::uint8_t p = in.next();
  read_request r;
  r.kind = read_kind::readuntil;
  r.form = static_cast<read_form>(p % 3);
  const bool alphabet = p / 3 % 2 != 0;
  r.separator_list = list;
  r.initializer_list = list && r.form == read_form::throwing && p / 6 % 2 != 0;
  const std::size_t count = list ? in.next() % 5 : 1;
  for (std::size_t i = 0; i < count; ++i) r.separators.push_back(in.bytes(in.next() % 4, alphabet));
  return r;
}

read_request try_request(byte_source& in) {
  const std::uint8_t p = in.next();
  constexpr read_kind kinds[] = {read_kind::read_some, read_kind::readline, read_kind::readuntil,
                                 read_kind::readexactly};
  read_request r;
  r.kind = kinds[p % 4];
  r.form = read_form::error_code;
  r.try_first = true;
  r.n = p / 4u;
  if (r.kind == read_kind::readuntil) r.separators.push_back(in.bytes(in.next() % 4, p / 4 % 2 != 0));
  return r;
}

read_request sized_request(read_kind kind, std::uint8_t p) {
  read_request r;
  r.kind = kind;
  r.form = static_cast<read_form>(p % 2);
  r.n = p / 2u;
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  byte_source in(data, size);
  costream::test::reader_check check(1 + in.next() % 64);
  for (int steps = 0; !in.empty() && steps < 512 && !check.failed(); ++steps) {
    const std::uint8_t op = in.next() % 14;
    std::optional<read_request> read;
    switch (op) {
      case 0: check.feed_data(in.bytes(in.next() % 64, false)); break;
      case 1: check.feed_data(in.bytes(in.next() % 64, true)); break;
      case 2: {
        const std::size_t count = in.next();
        check.feed_data(std::string(count, static_cast<char>(in.next())));
        break;
      }
      case 3: check.feed_eof(); break;
      case 4: check.set_exception(static_cast<costream::test::stored_error>(in.next() % 3)); break;
      case 5: read = sized_request(read_kind::read_some, in.next()); break;
      case 6: read = sized_request(read_kind::read_all, in.next()); break;
      case 7: read = sized_request(read_kind::readline, in.next()); break;
      case 8: read = separators_request(in, false); break;
      case 9: read = separators_request(in, true); break;
      case 10: read = sized_request(read_kind::readexactly, in.next()); break;
      case 11: check.feed_data(std::string(1, static_cast<char>(in.next()))); break;
      case 12: check.cancel(); break;
      case 13: read = try_request(in); break;
      default: break;
    }
    if (read) check.start(*read);
  }
  check.finish();
  if (trace()) std::fputs(check.history().c_str(), stderr);
  if (check.failed()) {
    std::fputs(check.failure().c_str(), stderr);
    std::fflush(stderr);
    std::abort();
  }
  return 0;
}
