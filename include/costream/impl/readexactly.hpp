// costream/impl/readexactly.hpp: readexactly(n).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_READEXACTLY_HPP
#define COSTREAM_IMPL_READEXACTLY_HPP

#include <costream/net.hpp>
#include <costream/detail/read_report.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/impl/try_read.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace costream::detail {

inline net::awaitable<std::string> readexactly_op(reader_core* core, std::size_t n, read_report report) {
  if (const std::optional<std::string_view> bytes = try_readexactly(*core, n)) {
    // The common case, answered from the buffer without the loop below.
    if (report.ec != nullptr) report.ec->clear();
    co_return *bytes;  // the string is made in the awaitable's result (see take_view)
  }
  read_status status;
  std::string data;
  for (;;) {
    if (const std::optional<std::string_view> bytes = try_readexactly(*core, n)) {
      data.assign(*bytes);
      break;
    }
    byte_buffer& buffer = core->buffer();
    if (take_stored_exception(*core, status)) break;
    if (core->eof()) {
      // asyncio: the partial bytes travel with the error and leave the buffer.
      data.assign(buffer.view());
      core->clear_buffer();
      status.ec = errc::incomplete_read;
      status.count = n;
      status.has_expected = true;
      break;
    }
    co_await reader_core::wait_for_data(core, status);
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, std::move(data));
}

}  // namespace costream::detail

#endif
