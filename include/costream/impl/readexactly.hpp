// costream/impl/readexactly.hpp: readexactly(n).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_READEXACTLY_HPP
#define COSTREAM_IMPL_READEXACTLY_HPP

#include <costream/detail/read_report.hpp>
#include <costream/detail/reader_core.hpp>

#include <memory>
#include <string>

namespace costream::detail {

inline asio::awaitable<std::string> readexactly_op(std::shared_ptr<reader_core> core, std::size_t n,
                                                   read_report report) {
  read_status status;
  std::string data;
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
    status.ec = co_await reader_core::wait_for_data(core, n - buffer.size());
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, std::move(data));
}

}  // namespace costream::detail

#endif
