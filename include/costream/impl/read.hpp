// costream/impl/read.hpp: read(n) and read() to end of stream.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_READ_HPP
#define COSTREAM_IMPL_READ_HPP

#include <costream/net.hpp>
#include <costream/detail/read_report.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/impl/try_read.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace costream::detail {

inline net::awaitable<std::string> read_some_op(reader_core* core, std::size_t n, read_report report) {
  if (const std::optional<std::string_view> bytes = try_read_some(*core, n)) {
    // The common case, answered from the buffer without the loop below.
    if (report.ec != nullptr) report.ec->clear();
    co_return *bytes;  // the string is made in the awaitable's result (see take_view)
  }
  read_status status;
  std::string data;
  for (;;) {
    if (const std::optional<std::string_view> bytes = try_read_some(*core, n)) {
      data.assign(*bytes);
      break;
    }
    if (take_stored_exception(*core, status) || core->eof()) break;
    co_await reader_core::wait_for_data(core, status);
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, std::move(data));
}

// Collects everything up to end of stream in the buffer and takes it only
// then, so an error or a cancellation on the way loses nothing.
inline net::awaitable<std::string> read_all_op(reader_core* core, read_report report) {
  read_status status;
  std::string data;
  for (;;) {
    if (core->eof()) {
      byte_buffer& buffer = core->buffer();
      data.assign(buffer.view());
      core->clear_buffer();
      break;
    }
    if (take_stored_exception(*core, status)) break;
    co_await reader_core::wait_for_data(core, status);
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, std::move(data));
}

}  // namespace costream::detail

#endif
