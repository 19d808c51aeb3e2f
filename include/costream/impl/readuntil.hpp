// costream/impl/readuntil.hpp: readuntil (one or several separators) and readline, built on it.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_IMPL_READUNTIL_HPP
#define COSTREAM_IMPL_READUNTIL_HPP

#include <costream/net.hpp>
#include <costream/detail/read_report.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/detail/separator_set.hpp>
#include <costream/impl/try_read.hpp>

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace costream::detail {

// How far a scan has looked: `offset` bytes from the front of the buffer as
// it was when the buffer had given up `consumed_total` bytes in all. A read
// that needs no wait may run while a readuntil waits (read(n) while a
// readline waits is allowed) and take bytes from the front; the scan then
// moves back by as many, so no separator is missed.
struct scan_position {
  std::size_t offset = 0;
  std::size_t consumed_total = 0;
};

// One look at the buffer for asyncio's readuntil, with one departure: a
// stored exception is raised only when the buffer cannot complete the read.
// `offset` remembers how far the buffer holds no separator, so no byte is
// scanned twice except the last (longest separator - 1) bytes, which may
// hold the start of one.
//
// Returns false when the read must wait for data. Otherwise the read is
// over, and take_scanned takes its data before anything else runs: status
// says no error (a line of status.count bytes, separator included, is
// buffered), limit_overrun (data stays), incomplete_read (the data is the
// whole buffer) or the stored exception (data stays). The data is taken
// apart from the scan so that no string lives in a waiting read's frame.
inline bool readuntil_scan(reader_core& core, const separator_set& separators, scan_position& position,
                           read_status& status) {
  if (!separators.valid()) {
    status.ec = errc::empty_separator;
    return true;
  }
  const std::size_t limit = core.limit();
  byte_buffer& buffer = core.buffer();
  const std::size_t taken = buffer.consumed_total() - position.consumed_total;
  position.consumed_total = buffer.consumed_total();
  std::size_t& offset = position.offset;
  offset = offset > taken ? offset - taken : 0;
  const std::string_view bytes = buffer.view();
  if (bytes.size() - offset >= separators.min_size()) {
    const separator_match match = separators.find(bytes, offset);
    if (match.found()) {
      if (match.start > limit) {
        status.ec = errc::limit_overrun;
        status.count = match.start;
        return true;
      }
      status.count = match.end;
      return true;
    }
    const std::size_t max_size = separators.max_size();
    offset = bytes.size() + 1 > max_size ? bytes.size() + 1 - max_size : 0;
  }
  // No separator starts in the first `offset` bytes (checked here too when
  // nothing new arrived: the read's fast path may have done the search).
  if (offset > limit) {
    status.ec = errc::limit_overrun;
    status.count = offset;
    return true;
  }
  // A complete separator that arrived together with end of stream was found
  // above: the buffer is searched before the end is looked at.
  if (take_stored_exception(core, status)) return true;
  if (core.eof()) {
    status.ec = errc::incomplete_read;
    return true;
  }
  return false;
}

// The data of a scan that ended the read (see readuntil_scan), taken out of
// the buffer: the line, or at end of stream everything buffered.
inline std::string take_scanned(reader_core& core, read_status& status) {
  if (!status.ec) {
    std::string line(take_view(core, status.count));
    status.count = 0;
    return line;
  }
  if (status.ec != errc::incomplete_read || status.stored) return {};
  std::string rest(core.buffer().view());
  core.clear_buffer();
  return rest;
}

inline net::awaitable<std::string> readuntil_op(reader_core* core, separator_set separators,
                                                 read_report report) {
  scan_position position;
  if (separators.valid()) {
    // The common case, answered from the buffer without the loop below: a
    // separator starting within the limit is buffered.
    byte_buffer& buffer = core->buffer();
    const separator_match match = separators.find(buffer.view(), 0);
    if (match.found() && match.start <= core->limit()) {
      if (report.ec != nullptr) report.ec->clear();
      if (report.consumed != nullptr) *report.consumed = 0;
      co_return take_view(*core, match.end);  // made into the result (see take_view)
    }
    if (!match.found()) {
      // The loop goes on from where this search stopped (see readuntil_scan).
      const std::size_t max_size = separators.max_size();
      position.offset = buffer.size() + 1 > max_size ? buffer.size() + 1 - max_size : 0;
      position.consumed_total = buffer.consumed_total();
    }
  }
  read_status status;
  while (!readuntil_scan(*core, separators, position, status)) {
    co_await reader_core::wait_for_data(core, status);
    if (status.ec) break;
  }
  co_return finish_read(*core, report, status, take_scanned(*core, status));
}

// Drops the rest of an over-long line, through its newline, as it arrives.
// The line is dropped whole whatever the chunking of the input; asyncio
// instead drops only what was buffered when the limit was hit, so the rest
// of the line would come back as the next "line".
inline net::awaitable<void> discard_line(reader_core* core, read_status& status) {
  for (;;) {
    byte_buffer& buffer = core->buffer();
    const void* newline = buffer.empty() ? nullptr : std::memchr(buffer.data(), '\n', buffer.size());
    if (newline != nullptr) {
      const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(newline) - buffer.data());
      core->discarded += at;
      core->consume(at + 1);
      break;
    }
    if (core->waiting() && !core->eof() && !core->has_exception()) {
      // Going on would mean waiting while another read waits: report the
      // misuse and leave the buffer to that read (discarding goes on later).
      status.ec = errc::concurrent_read;
      co_return;
    }
    core->discarded += buffer.size();
    core->clear_buffer();
    if (take_stored_exception(*core, status)) co_return;
    if (core->eof()) break;
    co_await reader_core::wait_for_data(core, status);
    if (status.ec) co_return;  // still discarding: the next readline goes on with it
  }
  core->discarding_line = false;
  status.ec = errc::line_too_long;
  status.count = core->discarded;
}

// readline's line, or at end of stream its partial line (see readuntil_scan).
// A plain function: a string local to readline's coroutine would be in the
// frame of every waiting read.
inline std::string take_line(reader_core& core, read_status& status, const read_report& report) {
  std::string line = take_scanned(core, status);
  status.clear_error();
  return finish_read(core, report, status, std::move(line));
}

// readline in full: whatever the buffer holds when it is awaited, waiting
// as long as it takes. Its frame is what an idle connection's read holds,
// so it carries nothing of the common case (readline_buffered). `position`:
// how far the buffer was already searched for a newline (see scan_position).
inline net::awaitable<std::string> readline_waiting(reader_core* core, read_report report, scan_position position) {
  static const separator_set newline{std::string("\n")};
  read_status status;
  if (!core->discarding_line) {
    while (!readuntil_scan(*core, newline, position, status)) {
      co_await reader_core::wait_for_data(core, status);
      if (status.ec) break;
    }
    // A stored exception is raised as it is, whatever its code: a stored
    // incomplete_read_error is not this reader's end of stream.
    if (!status.ec || (!status.stored && status.ec == errc::incomplete_read)) {
      // The line, or at end of stream the partial line.
      co_return take_line(*core, status, report);
    }
    if (!status.stored && status.ec == errc::limit_overrun) {
      const byte_buffer& buffer = core->buffer();
      const bool line_end_buffered = std::memchr(buffer.data(), '\n', buffer.size()) != nullptr;
      if (!line_end_buffered && take_stored_exception(*core, status)) {
        // Dropping the line would need more data and an error is stored:
        // raise it and leave the bytes buffered, as every read the buffer
        // cannot complete does.
      } else if (!line_end_buffered && core->waiting()) {
        // Dropping the line would need to wait while another read waits:
        // report the misuse without touching the buffer.
        status.clear_error();
        status.ec = errc::concurrent_read;
      } else {
        status.clear_error();
        core->discarding_line = true;
        core->discarded = 0;
      }
    }
  }
  if (core->discarding_line) co_await discard_line(core, status);
  co_return finish_read(*core, report, status, {});
}

// readline's common case: a whole line of `size` bytes was buffered when the
// read was made, after `consumed` bytes had been taken from the stream. It
// is taken when the read is awaited (at once, in the usual
// `co_await reader.readline()`), so a read made and never awaited consumes
// nothing. Bytes are only appended while nothing is taken, so an unchanged
// count means the line is still there, unsearched again; if a read took
// bytes meanwhile, the full read runs.
inline net::awaitable<std::string> readline_buffered(reader_core* core, read_report report, std::size_t size,
                                                     std::size_t consumed) {
  if (core->buffer().consumed_total() == consumed) {
    if (report.ec != nullptr) report.ec->clear();
    co_return take_view(*core, size);  // made into the result (see take_view)
  }
  co_return co_await readline_waiting(core, report, scan_position{});
}

// Not a coroutine: it searches the buffer once and picks the one coroutine
// the read needs, so a read that waits holds one frame, and a read the
// buffer answers a small one.
inline net::awaitable<std::string> readline_op(reader_core* core, read_report report) {
  const byte_buffer& buffer = core->buffer();
  if (const std::size_t size = buffered_line_size(*core)) return readline_buffered(core, report, size, buffer.consumed_total());
  // buffered_line_size found no newline in the first `searched` bytes (it
  // searches nothing while an over-long line is being discarded).
  const std::size_t searched = core->discarding_line ? 0 : std::min(buffer.size(), core->limit() + 1);
  return readline_waiting(core, report, scan_position{searched, buffer.consumed_total()});
}

}  // namespace costream::detail

#endif
