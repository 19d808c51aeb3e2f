// costream/stream_reader.hpp: basic_stream_reader, asyncio's StreamReader for any Asio stream.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_STREAM_READER_HPP
#define COSTREAM_STREAM_READER_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/detail/protocol_ref.hpp>
#include <costream/detail/read_report.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/detail/separator_set.hpp>
#include <costream/error.hpp>
#include <costream/impl/read.hpp>
#include <costream/impl/readexactly.hpp>
#include <costream/impl/readuntil.hpp>
#include <costream/impl/try_read.hpp>
#include <costream/stream_protocol.hpp>

#include <cstddef>
#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace costream {

/// asyncio's StreamReader: buffered reads of lines, separated records,
/// exact sizes and everything to end of stream, over any Asio stream.
///
/// A reader is a handle: copies refer to the same stream and buffer (as
/// Python references do). A connected reader comes from open_connection or
/// start_server's callback; a reader made from an executor is fed by hand
/// with feed_data / feed_eof / set_exception, exactly as asyncio's tests do.
///
/// Every read returns std::string and has two forms: the default throws (as
/// asyncio raises), the form with a trailing error_code& reports the
/// same error there and returns the same data (the partial bytes of an
/// incomplete read). Behaviour is defined once; the forms differ only in how
/// the error leaves.
///
/// **Errors and the buffer.** What is buffered is returned before a stored
/// error is raised: a read that the buffered bytes complete succeeds even
/// when the connection has failed since; a read they cannot complete raises
/// the error and leaves the bytes buffered for read(n). (asyncio raises the
/// stored exception at once, and the buffered bytes are lost to the caller;
/// costream follows Go's bufio and tokio here, so no received byte is lost.)
///
/// **Cancellation.** Every read is cancel-safe: cancel it through Asio's
/// per-operation cancellation (a cancellation slot, `||` from
/// awaitable_operators, a timeout) and it completes with
/// costream::net::error::operation_aborted, having consumed nothing: every byte
/// received stays buffered for the next read, and the reader stays usable.
/// The one exception is readline discarding an over-long line (see there).
///
/// **Concurrency.** One read at a time may wait for data: a second read that
/// needs to wait while one is waiting fails with errc::concurrent_read (a
/// usage error, reported; the buffer is not touched).
///
/// **Lifetime.** As an Asio socket must outlive its operations, the reader
/// (this handle or a copy) must stay alive until a read made from it has
/// been awaited: a read answered from the buffer touches no reference count.
/// A read that has started waiting owns the reader's state until it ends.
///
/// Thread safety: distinct objects: safe; shared objects: unsafe. Use a
/// reader from its executor (its connection's strand).
template <class AsyncReadStream>
class basic_stream_reader {
 public:
  using stream_type = AsyncReadStream;
  using protocol_type = basic_stream_protocol<AsyncReadStream>;
  using executor_type = net::any_io_executor;

  /// read(n) with this n reads to end of stream, as asyncio's read(-1).
  static constexpr std::size_t read_to_end = static_cast<std::size_t>(-1);

  /// A reader fed by hand (feed_data, feed_eof, set_exception). Throws
  /// std::invalid_argument if limit is 0.
  explicit basic_stream_reader(const executor_type& executor, std::size_t limit = COSTREAM_DEFAULT_LIMIT)
      : core_(std::make_shared<detail::reader_core>(executor, limit)) {}

  /// The reader of a connection.
  explicit basic_stream_reader(std::shared_ptr<protocol_type> protocol)
      : core_(protocol->reader_core()), protocol_(std::move(protocol)) {}

  /// Reads up to n bytes: waits until at least one byte is buffered or the
  /// stream ends, then returns up to n bytes. Not bounded by limit().
  /// read(0) returns an empty string at once; read(read_to_end), which is
  /// what asyncio's read(-1) becomes in C++ (std::size_t(-1)), is read().
  ///
  /// End of stream: returns an empty string once the buffer is empty.
  ///
  /// Throws: the connection's error (std::system_error with Asio's code,
  /// e.g. connection_reset) when nothing is buffered; operation_aborted
  /// when cancelled; errc::concurrent_read.
  ///
  /// Cancellation: nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> read(std::size_t n) {
    if (n == read_to_end) return detail::read_all_op(core_.get(), {});
    return detail::read_some_op(core_.get(), n, {});
  }
  [[nodiscard]] net::awaitable<std::string> read(std::size_t n, error_code& ec) {
    if (n == read_to_end) return detail::read_all_op(core_.get(), {&ec});
    return detail::read_some_op(core_.get(), n, {&ec});
  }

  /// Reads everything up to end of stream and returns it. The bytes collect
  /// in the buffer, which therefore grows with the stream.
  ///
  /// End of stream: what it completes.
  ///
  /// Throws: the connection's error; the bytes read so far stay buffered.
  ///
  /// Cancellation: nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> read() { return detail::read_all_op(core_.get(), {}); }
  [[nodiscard]] net::awaitable<std::string> read(error_code& ec) { return detail::read_all_op(core_.get(), {&ec}); }

  /// Reads a line: the bytes up to and including the next "\n".
  ///
  /// End of stream: returns the partial line without a newline (an empty
  /// string when nothing is buffered), instead of failing as readuntil does.
  ///
  /// Throws limit_overrun_error with code errc::line_too_long when the line
  /// (without its newline) is longer than limit(). The over-long line is
  /// discarded whole, through its newline, reading on as needed in bounded
  /// memory; consumed() is its length. (asyncio drops only the part that was
  /// buffered when the limit was hit, so the rest of the line would come
  /// back as the next line, depending on how the bytes were chunked.)
  /// Also the connection's error, operation_aborted, errc::concurrent_read.
  ///
  /// Cancellation: nothing is consumed; if readline was discarding an
  /// over-long line, the bytes discarded so far stay discarded and the next
  /// readline goes on discarding and then reports errc::line_too_long.
  [[nodiscard]] net::awaitable<std::string> readline() { return detail::readline_op(core_.get(), {}); }
  [[nodiscard]] net::awaitable<std::string> readline(error_code& ec) {
    return detail::readline_op(core_.get(), {&ec});
  }

  /// Reads up to and including `separator`.
  ///
  /// End of stream before a separator: throws incomplete_read_error whose
  /// partial() is the whole buffer (which may end with part of the
  /// separator) and expected() is empty; the buffer is emptied. A separator
  /// that arrived together with end of stream is still found.
  ///
  /// Throws limit_overrun_error (errc::limit_overrun) when the separator does
  /// not start within limit() bytes; the data stays buffered, and consumed()
  /// says how many bytes to consume to get past it (the separator's index,
  /// or the bytes scanned without finding it). errc::empty_separator for an
  /// empty separator. Also the connection's error, operation_aborted,
  /// errc::concurrent_read.
  ///
  /// Cancellation: nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> readuntil(std::string_view separator = "\n") {
    return detail::readuntil_op(core_.get(), detail::separator_set(std::string(separator)), {});
  }
  [[nodiscard]] net::awaitable<std::string> readuntil(std::string_view separator, error_code& ec) {
    return detail::readuntil_op(core_.get(), detail::separator_set(std::string(separator)), {&ec});
  }
  /// The no-throw form with asyncio's LimitOverrunError.consumed.
  [[nodiscard]] net::awaitable<std::string> readuntil(std::string_view separator, error_code& ec,
                                                       std::size_t& consumed) {
    return detail::readuntil_op(core_.get(), detail::separator_set(std::string(separator)), {&ec, &consumed});
  }

  /// Reads up to and including the first of several separators to complete
  /// (asyncio 3.13): the match that ends earliest wins, and of matches
  /// ending at the same byte the shortest. Otherwise as readuntil(separator);
  /// an empty list is errc::empty_separator.
  [[nodiscard]] net::awaitable<std::string> readuntil(std::initializer_list<std::string_view> separators) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {});
  }
  [[nodiscard]] net::awaitable<std::string> readuntil(std::span<const std::string_view> separators) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {});
  }
  [[nodiscard]] net::awaitable<std::string> readuntil(std::span<const std::string_view> separators,
                                                       error_code& ec) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {&ec});
  }
  [[nodiscard]] net::awaitable<std::string> readuntil(std::span<const std::string_view> separators,
                                                       error_code& ec, std::size_t& consumed) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {&ec, &consumed});
  }

  /// Reads exactly n bytes. readexactly(0) returns an empty string at once.
  /// Not bounded by limit(): the buffer grows to n.
  ///
  /// End of stream first: throws incomplete_read_error whose partial() holds
  /// every buffered byte (taken out of the buffer) and expected() is n; the
  /// no-throw form returns those bytes with errc::incomplete_read.
  ///
  /// Throws: the connection's error (the bytes stay buffered),
  /// operation_aborted, errc::concurrent_read.
  ///
  /// Cancellation: nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> readexactly(std::size_t n) { return detail::readexactly_op(core_.get(), n, {}); }
  [[nodiscard]] net::awaitable<std::string> readexactly(std::size_t n, error_code& ec) {
    return detail::readexactly_op(core_.get(), n, {&ec});
  }

  /// The reads that never wait: each returns what its awaitable form
  /// (read(n), readline(), readuntil(separator), readexactly(n)) would return
  /// at once, consumed from the buffer, as a **view of the reader's buffer**
  /// (no copy, no coroutine frame); or std::nullopt, having consumed nothing,
  /// when that form would wait or report something: the record is not
  /// whole yet, it is over the limit, the stream ended, an error is stored,
  /// an over-long line is being discarded, the separator is empty. Then
  /// co_await the awaitable form, which does the rest:
  ///
  ///     for (std::string owned;;) {
  ///       std::optional<std::string_view> line = reader.try_readline();
  ///       if (!line) line = owned = co_await reader.readline();
  ///       if (line->empty()) break;  // end of stream
  ///       writer.write(*line);
  ///     }
  ///
  /// The view stays valid until this reader is next used (any read, feed or
  /// try_ call) or the calling coroutine next suspends (a co_await of
  /// anything: the transport fills the buffer meanwhile). Use it or copy it
  /// before then, as Go's bufio.Reader.ReadSlice asks. Like any read that the
  /// buffer completes, a try_ read may take bytes while another read waits.
  [[nodiscard]] std::optional<std::string_view> try_read(std::size_t n) noexcept {
    return detail::try_read_some(*core_, n);
  }
  [[nodiscard]] std::optional<std::string_view> try_readline() noexcept { return detail::try_readline(*core_); }
  [[nodiscard]] std::optional<std::string_view> try_readuntil(std::string_view separator = "\n") noexcept {
    return detail::try_readuntil(*core_, separator);
  }
  [[nodiscard]] std::optional<std::string_view> try_readexactly(std::size_t n) noexcept {
    return detail::try_readexactly(*core_, n);
  }

  /// True once end of stream was fed (or received) and the buffer is empty.
  bool at_eof() const noexcept { return core_->at_eof(); }

  /// The stored exception, or null.
  std::exception_ptr exception() const noexcept { return core_->exception(); }

  /// Stores an exception: reads that the buffer cannot complete raise it,
  /// and a waiting read wakes. On a connected reader the waiting read wakes
  /// when the transport next completes.
  void set_exception(std::exception_ptr e) { core_->set_exception(std::move(e)); }

  /// Appends bytes and wakes a waiting read; empty data is ignored. Throws
  /// std::system_error(errc::feed_after_eof) after feed_eof(). On a
  /// connected reader the protocol feeds; call it only while no read waits.
  void feed_data(std::string_view bytes) { core_->feed_data(bytes); }

  /// Marks end of stream and wakes a waiting read.
  void feed_eof() { core_->feed_eof(); }

  /// The most a readline or readuntil may return, separator not counted.
  std::size_t limit() const noexcept { return core_->limit(); }

  /// The bytes buffered now, without consuming them; valid until the next
  /// operation on the reader.
  std::string_view buffered() const noexcept { return core_->buffer().view(); }

  const executor_type& get_executor() const noexcept { return core_->executor(); }

  /// The connection's protocol; null for a reader fed by hand.
  protocol_type* protocol() const noexcept { return protocol_.get(); }

 private:
  std::shared_ptr<detail::reader_core> core_;
  detail::protocol_ref<protocol_type> protocol_;
};

/// The reader of a TCP connection.
using stream_reader = basic_stream_reader<net::ip::tcp::socket>;

}  // namespace costream

#endif
