// costream/detail/read_report.hpp: how a read ends: with data, or with an error thrown or reported.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_READ_REPORT_HPP
#define COSTREAM_DETAIL_READ_REPORT_HPP

#include <costream/net.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/error.hpp>

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <system_error>

namespace costream::detail {

/// Where a read reports its error: nowhere (it throws) or into the caller's
/// error_code (the no-throw form). Both forms run the same code; only
/// finish_read differs.
struct read_report {
  error_code* ec = nullptr;
  std::size_t* consumed = nullptr;
};

/// What a read found besides its data.
struct read_status {
  error_code ec;
  std::size_t consumed = 0;                // limit_overrun / line_too_long
  std::optional<std::size_t> expected;     // incomplete_read
  bool stored = false;                     // ec comes from the reader's stored exception
};

inline std::string finish_read(const reader_core& core, const read_report& report, const read_status& status,
                               std::string data) {
  if (report.ec != nullptr) {
    *report.ec = status.ec;
    if (report.consumed != nullptr) *report.consumed = status.consumed;
    return data;
  }
  if (!status.ec) return data;
  if (status.stored) std::rethrow_exception(core.exception());
  if (status.ec == errc::incomplete_read) throw incomplete_read_error(std::move(data), status.expected);
  if (status.ec == errc::limit_overrun) throw limit_overrun_error(errc::limit_overrun, status.consumed);
  if (status.ec == errc::line_too_long) throw limit_overrun_error(errc::line_too_long, status.consumed);
  throw system_error(status.ec);
}

/// The stored exception, when a read cannot complete from the buffer.
inline bool take_stored_exception(const reader_core& core, read_status& status) {
  if (!core.has_exception()) return false;
  status.ec = core.exception_code();
  status.stored = true;
  return true;
}

}  // namespace costream::detail

#endif
