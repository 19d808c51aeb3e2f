// costream/impl/try_read.hpp: the reads that never wait, answered from the buffer as views of it.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_TRY_READ_HPP
#define COSTREAM_IMPL_TRY_READ_HPP

#include <costream/detail/reader_core.hpp>
#include <costream/impl/readuntil.hpp>

#include <algorithm>
#include <cstddef>
#include <limits>
#include <optional>
#include <string_view>

namespace costream::detail {

// Consumes the first n buffered bytes and returns them as a view. consume()
// only moves indexes: the bytes stay where they are until the buffer is next
// filled, compacted or released, which only a read, a feed or the transport
// (while the reading coroutine is suspended) does.
inline std::string_view take_view(byte_buffer& buffer, std::size_t n) noexcept {
  const std::string_view bytes(buffer.data(), n);
  buffer.consume(n);
  return bytes;
}

// Each returns what its awaitable form would return at once with no error,
// or nullopt having changed nothing when that form would wait or report
// something (an error, the end of the stream, an over-long record).

inline std::optional<std::string_view> try_read_some(reader_core& core, std::size_t n) noexcept {
  byte_buffer& buffer = core.buffer();
  if (buffer.empty() && n != 0) return std::nullopt;
  return take_view(buffer, std::min(n, buffer.size()));
}

inline std::optional<std::string_view> try_readline(reader_core& core) noexcept {
  // buffered_line_size declines while an over-long line is being dropped:
  // readline reports it.
  const std::size_t size = buffered_line_size(core);
  if (size == 0) return std::nullopt;
  return take_view(core.buffer(), size);
}

inline std::optional<std::string_view> try_readuntil(reader_core& core, std::string_view separator) noexcept {
  if (separator.empty()) return std::nullopt;
  byte_buffer& buffer = core.buffer();
  // A separator must start within limit() bytes; the search looks no further.
  const std::size_t limit = core.limit();
  const std::size_t reach = limit > std::numeric_limits<std::size_t>::max() - separator.size()
                                ? std::numeric_limits<std::size_t>::max()
                                : limit + separator.size();
  const std::string_view bytes = buffer.view().substr(0, reach);
  const std::size_t at = bytes.find(separator);
  if (at == std::string_view::npos) return std::nullopt;
  return take_view(buffer, at + separator.size());
}

inline std::optional<std::string_view> try_readexactly(reader_core& core, std::size_t n) noexcept {
  byte_buffer& buffer = core.buffer();
  if (buffer.size() < n) return std::nullopt;
  return take_view(buffer, n);
}

}  // namespace costream::detail

#endif
