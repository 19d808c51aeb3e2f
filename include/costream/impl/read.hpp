// costream/impl/read.hpp: read(n) and read() to end of stream.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_READ_HPP
#define COSTREAM_IMPL_READ_HPP

#include <costream/detail/read_report.hpp>
#include <costream/detail/reader_core.hpp>

#include <algorithm>
#include <memory>
#include <string>

namespace costream::detail {

inline asio::awaitable<std::string> read_some_op(reader_core* core, std::size_t n, read_report report) {
  if (byte_buffer& buffer = core->buffer(); !buffer.empty() || n == 0) {
    // The common case, answered from the buffer without the loop below.
    const std::size_t take = std::min(n, buffer.size());
    std::string data(buffer.data(), take);
    buffer.consume(take);
    if (report.ec != nullptr) report.ec->clear();
    co_return data;
  }
  read_status status;
  std::string data;
  std::shared_ptr<void> keep;  // owns the state from the first wait on
  while (n != 0) {
    byte_buffer& buffer = core->buffer();
    if (!buffer.empty()) {
      const std::size_t take = std::min(n, buffer.size());
      data.assign(buffer.data(), take);
      buffer.consume(take);
      break;
    }
    if (take_stored_exception(*core, status) || core->eof()) break;
    status.ec = co_await reader_core::wait_for_data(core, keep, n);
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, std::move(data));
}

// Collects everything up to end of stream in the buffer and takes it only
// then, so an error or a cancellation on the way loses nothing.
inline asio::awaitable<std::string> read_all_op(reader_core* core, read_report report) {
  read_status status;
  std::string data;
  std::shared_ptr<void> keep;
  for (;;) {
    if (core->eof()) {
      byte_buffer& buffer = core->buffer();
      data.assign(buffer.view());
      buffer.clear();
      break;
    }
    if (take_stored_exception(*core, status)) break;
    status.ec = co_await reader_core::wait_for_data(core, keep, core->limit());
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, std::move(data));
}

}  // namespace costream::detail

#endif
