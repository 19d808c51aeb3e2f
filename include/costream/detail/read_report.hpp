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

/// What a read found besides its data (`ec`, from its waits or its own
/// checks), and what its waits keep (wait_state). It lives in the frame of
/// every waiting read, so it is kept small: one count serves both errors
/// that carry one.
struct read_status : wait_state {
  // limit_overrun / line_too_long: the bytes consumed (asyncio's
  // LimitOverrunError.consumed); incomplete_read with has_expected: the
  // size expected (IncompleteReadError.expected).
  std::size_t count = 0;
  bool has_expected = false;
  bool stored = false;  // ec comes from the reader's stored exception

  /// Back to "no error found"; the read keeps what its waits keep.
  void clear_error() noexcept {
    ec = {};
    count = 0;
    has_expected = false;
    stored = false;
  }
};

inline std::string finish_read(const reader_core& core, const read_report& report, const read_status& status,
                               std::string data) {
  if (report.ec != nullptr) {
    *report.ec = status.ec;
    if (report.consumed != nullptr) *report.consumed = status.has_expected ? 0 : status.count;
    return data;
  }
  if (!status.ec) return data;
  if (status.stored) std::rethrow_exception(core.exception());
  if (status.ec == errc::incomplete_read)
    throw incomplete_read_error(std::move(data),
                                status.has_expected ? std::optional<std::size_t>(status.count) : std::nullopt);
  if (status.ec == errc::limit_overrun) throw limit_overrun_error(errc::limit_overrun, status.count);
  if (status.ec == errc::line_too_long) throw limit_overrun_error(errc::line_too_long, status.count);
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
