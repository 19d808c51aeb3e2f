// tests/support/chunks.hpp: every way the unit tests cut an input, and a coroutine that feeds the pieces one per turn.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_CHUNKS_HPP
#define COSTREAM_TESTS_SUPPORT_CHUNKS_HPP

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <cstddef>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace costream::test {

/// One way of cutting an input: the pieces, in order, none empty.
using chunking = std::vector<std::string>;

/// Every way the tests cut `input`: whole, one byte at a time, and in two at
/// each inner position; duplicates removed, so each cut is fed once. An empty
/// input has the one chunking with no pieces. Meant for short inputs (the
/// count grows with the length).
inline std::vector<chunking> chunkings(std::string_view input) {
  std::vector<chunking> all;
  const auto add = [&all](chunking c) {
    for (const chunking& seen : all)
      if (seen == c) return;
    all.push_back(std::move(c));
  };
  if (input.empty()) {
    all.emplace_back();
    return all;
  }
  add(chunking{std::string(input)});
  chunking bytes;
  for (char c : input) bytes.emplace_back(1, c);
  add(std::move(bytes));
  for (std::size_t at = 1; at < input.size(); ++at)
    add(chunking{std::string(input.substr(0, at)), std::string(input.substr(at))});
  return all;
}

/// Bytes as a C string literal, long ones shortened.
inline std::string quote(std::string_view bytes) {
  std::string out = "\"";
  const std::size_t shown = bytes.size() > 72 ? 60 : bytes.size();
  for (std::size_t i = 0; i < shown; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", static_cast<unsigned>(c));
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  if (shown < bytes.size()) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

/// A chunking as text for INFO: each piece quoted, control bytes escaped.
inline std::string describe(const chunking& chunks) {
  std::string out;
  for (const std::string& piece : chunks) {
    if (!out.empty()) out += ' ';
    out += quote(piece);
  }
  return out.empty() ? std::string("(nothing)") : out;
}

/// What the feeder does after the last piece.
struct feed_end {
  bool eof = true;                    // then feed_eof()
  std::exception_ptr error = nullptr;  // then set_exception(error), if set
};

/// Feeds the pieces one per executor turn (the reader gets a turn between
/// two pieces, so a read waits for each), then ends as `end` says.
template <class Reader>
asio::awaitable<void> feed_chunks(Reader reader, chunking chunks, feed_end end = {}) {
  for (const std::string& piece : chunks) {
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    reader.feed_data(piece);
  }
  co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
  if (end.eof) reader.feed_eof();
  if (end.error) reader.set_exception(end.error);
}

/// A completion handler for co_spawn: an exception escaping the spawned
/// coroutine propagates out of the io_context, failing the test.
inline void rethrow(std::exception_ptr e) {
  if (e) std::rethrow_exception(e);
}

/// Starts feed_chunks beside the awaiting coroutine; it first runs when that
/// coroutine next suspends. An exception escaping the feeder (a feed_data
/// after feed_eof) propagates out of the io_context, failing the test.
template <class Reader>
void spawn_feeder(const Reader& reader, chunking chunks, feed_end end = {}) {
  asio::co_spawn(reader.get_executor(), feed_chunks(reader, std::move(chunks), std::move(end)), rethrow);
}

/// Lets every handler that is ready now run before the caller goes on.
inline asio::awaitable<void> yield_turns(int turns = 4) {
  for (int i = 0; i < turns; ++i)
    co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

}  // namespace costream::test

#endif
