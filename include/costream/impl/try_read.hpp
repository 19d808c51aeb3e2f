// costream/impl/try_read.hpp: the reads that never wait, answered from the buffer as views of it.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_TRY_READ_HPP
#define COSTREAM_IMPL_TRY_READ_HPP

#include <costream/detail/reader_core.hpp>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

namespace costream::detail {

// Consumes the first n buffered bytes and returns them as a view. consume()
// only moves indexes: the bytes stay where they are until the buffer is next
// filled, compacted or released, which only a read, a feed or the transport
// (while the reading coroutine is suspended) does. So a read's coroutine
// may `co_return` the view: Asio's promise makes its std::string result
// from it in place, a move and a temporary string less than returning a
// std::string (the result is constructed from whatever co_return gives).
inline std::string_view take_view(reader_core& core, std::size_t n) noexcept {
  const std::string_view bytes(core.buffer().data(), n);
  core.consume(n);
  return bytes;
}

// readline's common case: a whole line of at most limit() bytes (newline
// not counted) is buffered, and no over-long line is being discarded.
// Returns its length with the newline, or 0.
inline std::size_t buffered_line_size(const reader_core& core) noexcept {
  if (core.discarding_line) return 0;
  const byte_buffer& buffer = core.buffer();
  const std::size_t span = std::min(buffer.size(), core.limit() + 1);
  const void* newline = span != 0 ? std::memchr(buffer.data(), '\n', span) : nullptr;
  if (newline == nullptr) return 0;
  return static_cast<std::size_t>(static_cast<const char*>(newline) - buffer.data()) + 1;
}

// Each returns what its awaitable form would return at once with no error,
// or nullopt having changed nothing when that form would wait or report
// something (an error, the end of the stream, an over-long record).
// read(n), readline and readexactly start with them, so the two forms cannot
// disagree; readuntil's own search also takes a list of separators.

inline std::optional<std::string_view> try_read_some(reader_core& core, std::size_t n) noexcept {
  byte_buffer& buffer = core.buffer();
  if (buffer.empty() && n != 0) return std::nullopt;
  return take_view(core, std::min(n, buffer.size()));
}

inline std::optional<std::string_view> try_readline(reader_core& core) noexcept {
  const std::size_t size = buffered_line_size(core);
  if (size == 0) return std::nullopt;
  return take_view(core, size);
}

inline std::optional<std::string_view> try_readuntil(reader_core& core, std::string_view separator) noexcept {
  if (separator.empty()) return std::nullopt;
  byte_buffer& buffer = core.buffer();
  // A separator must start within limit() bytes; the search looks no
  // further (the sum saturates rather than wraps).
  const std::size_t limit = core.limit();
  const std::size_t reach = limit + std::min(separator.size(), std::numeric_limits<std::size_t>::max() - limit);
  const std::string_view bytes = buffer.view().substr(0, reach);
  const std::size_t at = bytes.find(separator);
  if (at == std::string_view::npos) return std::nullopt;
  return take_view(core, at + separator.size());
}

inline std::optional<std::string_view> try_readexactly(reader_core& core, std::size_t n) noexcept {
  byte_buffer& buffer = core.buffer();
  if (buffer.size() < n) return std::nullopt;
  return take_view(core, n);
}

}  // namespace costream::detail

#endif
