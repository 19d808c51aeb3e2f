// costream/impl/readexactly.hpp: readexactly(n).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_READEXACTLY_HPP
#define COSTREAM_IMPL_READEXACTLY_HPP

#include <costream/detail/read_report.hpp>
#include <costream/detail/reader_core.hpp>

#include <memory>
#include <string>

namespace costream::detail {

inline asio::awaitable<std::string> readexactly_op(reader_core* core, std::size_t n, read_report report) {
  if (byte_buffer& buffer = core->buffer(); buffer.size() >= n) {
    // The common case, answered from the buffer without the loop below.
    std::string data(buffer.data(), n);
    buffer.consume(n);
    if (report.ec != nullptr) report.ec->clear();
    co_return data;
  }
  read_status status;
  std::string data;
  std::shared_ptr<void> keep;  // owns the state from the first wait on
  while (n != 0) {
    byte_buffer& buffer = core->buffer();
    if (buffer.size() >= n) {
      data.assign(buffer.data(), n);
      buffer.consume(n);
      break;
    }
    if (take_stored_exception(*core, status)) break;
    if (core->eof()) {
      // asyncio: the partial bytes travel with the error and leave the buffer.
      data.assign(buffer.view());
      buffer.clear();
      status.ec = errc::incomplete_read;
      status.expected = n;
      break;
    }
    status.ec = co_await reader_core::wait_for_data(core, keep, n - buffer.size());
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, std::move(data));
}

}  // namespace costream::detail

#endif
