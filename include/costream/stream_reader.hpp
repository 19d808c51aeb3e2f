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
/// @par Errors and the buffer
/// What is buffered is returned before a stored
/// error is raised: a read that the buffered bytes complete succeeds even
/// when the connection has failed since; a read they cannot complete raises
/// the error and leaves the bytes buffered for read(n). (asyncio raises the
/// stored exception at once, and the buffered bytes are lost to the caller;
/// costream follows Go's bufio and tokio here, so no received byte is lost.)
///
/// @par Cancellation
/// Every read is cancel-safe: cancel it through Asio's
/// per-operation cancellation (a cancellation slot, `||` from
/// awaitable_operators, a timeout) and it completes with
/// costream::net::error::operation_aborted, having consumed nothing: every byte
/// received stays buffered for the next read, and the reader stays usable.
/// The one exception is readline discarding an over-long line (see there).
///
/// @par Concurrency
/// One read at a time may wait for data: a second read that
/// needs to wait while one is waiting fails with errc::concurrent_read (a
/// usage error, reported; the buffer is not touched).
///
/// @par Lifetime
/// As an Asio socket must outlive its operations, the reader
/// (this handle or a copy) must stay alive until a read made from it has
/// been awaited: a read answered from the buffer touches no reference count.
/// A read that has started waiting owns the reader's state until it ends.
///
/// @par Thread safety
/// Distinct objects: safe; shared objects: unsafe. Use a
/// reader from its executor (its connection's strand).
///
/// @tparam AsyncReadStream the stream read from: an Asio socket, an
/// ssl::stream, any type modelling Asio's AsyncReadStream (and
/// AsyncWriteStream, for its protocol).
template <class AsyncReadStream>
class basic_stream_reader {
 public:
  /// The stream read from.
  using stream_type = AsyncReadStream;
  /// The adapter between the stream and its reader and writer.
  using protocol_type = basic_stream_protocol<AsyncReadStream>;
  /// The executor the reader's operations run on.
  using executor_type = net::any_io_executor;

  /// read(n) with this n reads to end of stream, as asyncio's read(-1).
  static constexpr std::size_t read_to_end = static_cast<std::size_t>(-1);

  /// A reader fed by hand (feed_data, feed_eof, set_exception).
  ///
  /// @param executor the executor its reads run and wait on.
  /// @param limit the most a readline or readuntil may return, separator
  /// not counted (see limit()).
  /// @throws std::invalid_argument if limit is 0.
  explicit basic_stream_reader(const executor_type& executor, std::size_t limit = COSTREAM_DEFAULT_LIMIT)
      : core_(detail::reader_core::make_fed(executor, limit)) {}

  /// The reader of a connection.
  ///
  /// @param protocol the connection's protocol, shared with its other
  /// readers and writers; it supplies the buffer and the limit.
  explicit basic_stream_reader(std::shared_ptr<protocol_type> protocol)
      : core_(protocol->reader_core()), protocol_(std::move(protocol)) {}

  /// Reads up to n bytes: waits until at least one byte is buffered or the
  /// stream ends, then returns up to n bytes. Not bounded by limit().
  /// read(0) returns an empty string at once; read(read_to_end), which is
  /// what asyncio's read(-1) becomes in C++ (std::size_t(-1)), is read().
  ///
  /// @par End of stream
  /// Returns an empty string once the buffer is empty.
  ///
  /// @param n the most bytes to return; read_to_end for read().
  /// @return the bytes read: at least one, at most n; empty at end of stream
  /// or for n == 0.
  /// @throws costream::system_error the connection's error (Asio's code,
  /// e.g. connection_reset) when nothing is buffered; operation_aborted
  /// when cancelled; errc::concurrent_read when another read is waiting.
  ///
  /// @par Cancellation
  /// Nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> read(std::size_t n) {
    if (n == read_to_end) return detail::read_all_op(core_.get(), {});
    return detail::read_some_op(core_.get(), n, {});
  }
  /// read(n) reporting its error in `ec` instead of throwing it.
  ///
  /// @param n the most bytes to return; read_to_end for read(ec).
  /// @param ec set to the code of what read(n) throws (cleared on
  /// success); it must outlive the awaitable.
  /// @return what read(n) returns; an empty string with `ec` set.
  [[nodiscard]] net::awaitable<std::string> read(std::size_t n, error_code& ec) {
    if (n == read_to_end) return detail::read_all_op(core_.get(), {&ec});
    return detail::read_some_op(core_.get(), n, {&ec});
  }

  /// Reads everything up to end of stream and returns it. The bytes collect
  /// in the buffer, which therefore grows with the stream.
  ///
  /// @par End of stream
  /// What it completes.
  ///
  /// @return every byte up to end of stream (empty if there were none).
  /// @throws costream::system_error the connection's error; the bytes read so
  /// far stay buffered. Also operation_aborted, errc::concurrent_read.
  ///
  /// @par Cancellation
  /// Nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> read() { return detail::read_all_op(core_.get(), {}); }
  /// read() reporting its error in `ec` instead of throwing it; the bytes
  /// read so far then stay buffered.
  ///
  /// @param ec set to the code of what read() throws (cleared on
  /// success); it must outlive the awaitable.
  /// @return what read() returns; an empty string with `ec` set.
  [[nodiscard]] net::awaitable<std::string> read(error_code& ec) { return detail::read_all_op(core_.get(), {&ec}); }

  /// Reads a line: the bytes up to and including the next `"\n"`.
  ///
  /// @par End of stream
  /// Returns the partial line without a newline (an empty
  /// string when nothing is buffered), instead of failing as readuntil does.
  ///
  /// @return the line, its newline included; at end of stream the partial
  /// line, or an empty string.
  /// @throws limit_overrun_error with code errc::line_too_long when the line
  /// (without its newline) is longer than limit(). The over-long line is
  /// discarded whole, through its newline, reading on as needed in bounded
  /// memory; consumed() is its length. (asyncio drops only the part that was
  /// buffered when the limit was hit, so the rest of the line would come
  /// back as the next line, depending on how the bytes were chunked.)
  /// @throws costream::system_error the connection's error, operation_aborted,
  /// errc::concurrent_read.
  ///
  /// @par Cancellation
  /// Nothing is consumed; if readline was discarding an
  /// over-long line, the bytes discarded so far stay discarded and the next
  /// readline goes on discarding and then reports errc::line_too_long.
  [[nodiscard]] net::awaitable<std::string> readline() { return detail::readline_op(core_.get(), {}); }
  /// readline() reporting its error in `ec` instead of throwing it.
  ///
  /// @param ec set to the code of what readline() throws (cleared on
  /// success); it must outlive the awaitable.
  /// @return what readline() returns; an empty string with `ec` set.
  [[nodiscard]] net::awaitable<std::string> readline(error_code& ec) {
    return detail::readline_op(core_.get(), {&ec});
  }

  /// Reads up to and including `separator`.
  ///
  /// @par End of stream
  /// Before a separator: throws incomplete_read_error whose
  /// partial() is the whole buffer (which may end with part of the
  /// separator) and expected() is empty; the buffer is emptied. A separator
  /// that arrived together with end of stream is still found.
  ///
  /// @param separator the bytes that end the record; not empty.
  /// @return the bytes up to and including the separator.
  /// @throws incomplete_read_error at end of stream before a separator (see
  /// End of stream).
  /// @throws limit_overrun_error (errc::limit_overrun) when the separator does
  /// not start within limit() bytes; the data stays buffered, and consumed()
  /// says how many bytes to consume to get past it (the separator's index,
  /// or the bytes scanned without finding it).
  /// @throws costream::system_error errc::empty_separator for an
  /// empty separator. Also the connection's error, operation_aborted,
  /// errc::concurrent_read.
  ///
  /// @par Cancellation
  /// Nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> readuntil(std::string_view separator = "\n") {
    return detail::readuntil_op(core_.get(), detail::separator_set(std::string(separator)), {});
  }
  /// readuntil(separator) reporting its error in `ec` instead of throwing
  /// it. At end of stream it returns the partial bytes (taken out of the
  /// buffer) with errc::incomplete_read.
  ///
  /// @param separator the bytes that end the record; not empty.
  /// @param ec set to the code of what readuntil(separator) throws (cleared
  /// on success); it must outlive the awaitable.
  /// @return what readuntil(separator) returns, or the partial bytes at end
  /// of stream; otherwise an empty string with `ec` set.
  [[nodiscard]] net::awaitable<std::string> readuntil(std::string_view separator, error_code& ec) {
    return detail::readuntil_op(core_.get(), detail::separator_set(std::string(separator)), {&ec});
  }
  /// The no-throw form with asyncio's LimitOverrunError.consumed.
  ///
  /// @param separator the bytes that end the record; not empty.
  /// @param ec as for readuntil(separator, ec).
  /// @param consumed set with `ec` == errc::limit_overrun to what
  /// limit_overrun_error::consumed() would say; 0 otherwise. It must
  /// outlive the awaitable.
  /// @return as readuntil(separator, ec).
  [[nodiscard]] net::awaitable<std::string> readuntil(std::string_view separator, error_code& ec,
                                                       std::size_t& consumed) {
    return detail::readuntil_op(core_.get(), detail::separator_set(std::string(separator)), {&ec, &consumed});
  }

  /// Reads up to and including the first of several separators to complete
  /// (asyncio 3.13): the match that ends earliest wins, and of matches
  /// ending at the same byte the shortest. Otherwise as readuntil(separator);
  /// an empty list is errc::empty_separator.
  ///
  /// @param separators the separators to look for; none of them empty.
  /// @return the bytes up to and including the separator found.
  /// @throws incomplete_read_error as readuntil(separator).
  /// @throws limit_overrun_error as readuntil(separator).
  /// @throws costream::system_error as readuntil(separator).
  ///
  /// @par Cancellation
  /// Nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> readuntil(std::initializer_list<std::string_view> separators) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {});
  }
  /// readuntil({a, b}) with the separators in a range (a named
  /// `std::array<std::string_view, N>`, say: see the README on g++ 12).
  ///
  /// @param separators the separators to look for; none of them empty.
  /// @return the bytes up to and including the separator found.
  /// @throws incomplete_read_error as readuntil(separator).
  /// @throws limit_overrun_error as readuntil(separator).
  /// @throws costream::system_error as readuntil(separator).
  ///
  /// @par Cancellation
  /// Nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> readuntil(std::span<const std::string_view> separators) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {});
  }
  /// readuntil(separators) reporting its error in `ec` instead of
  /// throwing it, as readuntil(separator, ec) does.
  ///
  /// @param separators the separators to look for; none of them empty.
  /// @param ec as for readuntil(separator, ec).
  /// @return as readuntil(separator, ec).
  [[nodiscard]] net::awaitable<std::string> readuntil(std::span<const std::string_view> separators,
                                                       error_code& ec) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {&ec});
  }
  /// The no-throw form of readuntil(separators) with asyncio's
  /// LimitOverrunError.consumed.
  ///
  /// @param separators the separators to look for; none of them empty.
  /// @param ec as for readuntil(separator, ec).
  /// @param consumed as for readuntil(separator, ec, consumed).
  /// @return as readuntil(separator, ec).
  [[nodiscard]] net::awaitable<std::string> readuntil(std::span<const std::string_view> separators,
                                                       error_code& ec, std::size_t& consumed) {
    return detail::readuntil_op(core_.get(), detail::separator_set::from_range(separators), {&ec, &consumed});
  }

  /// Reads exactly n bytes. readexactly(0) returns an empty string at once.
  /// Not bounded by limit(): the buffer grows to n.
  ///
  /// @par End of stream
  /// Before n bytes: throws incomplete_read_error whose partial() holds
  /// every buffered byte (taken out of the buffer) and expected() is n; the
  /// no-throw form returns those bytes with errc::incomplete_read.
  ///
  /// @param n how many bytes to read.
  /// @return exactly n bytes.
  /// @throws incomplete_read_error at end of stream before n bytes (see End
  /// of stream).
  /// @throws costream::system_error the connection's error (the bytes stay buffered),
  /// operation_aborted, errc::concurrent_read.
  ///
  /// @par Cancellation
  /// Nothing is consumed.
  [[nodiscard]] net::awaitable<std::string> readexactly(std::size_t n) { return detail::readexactly_op(core_.get(), n, {}); }
  /// readexactly(n) reporting its error in `ec` instead of throwing it.
  ///
  /// @param n how many bytes to read.
  /// @param ec set to the code of what readexactly(n) throws (cleared on
  /// success); it must outlive the awaitable.
  /// @return the n bytes; at end of stream the partial bytes (taken out of
  /// the buffer) with errc::incomplete_read; otherwise an empty string with
  /// `ec` set.
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
  /// @code
  /// for (std::string owned;;) {
  ///   std::optional<std::string_view> line = reader.try_readline();
  ///   if (!line) line = owned = co_await reader.readline();
  ///   if (line->empty()) break;  // end of stream
  ///   writer.write(*line);
  /// }
  /// @endcode
  ///
  /// The view stays valid until this reader is next used (any read, feed or
  /// try_ call) or the calling coroutine next suspends (a co_await of
  /// anything: the transport fills the buffer meanwhile). Use it or copy it
  /// before then, as Go's bufio.Reader.ReadSlice asks. Like any read that the
  /// buffer completes, a try_ read may take bytes while another read waits.
  ///
  /// try_read(n): what read(n) would return at once (try_read(0): an empty
  /// view).
  ///
  /// @param n the most bytes to take.
  /// @return a view of up to n buffered bytes (at least one unless n is 0),
  /// consumed; std::nullopt when nothing is buffered and n is not 0.
  [[nodiscard]] std::optional<std::string_view> try_read(std::size_t n) noexcept {
    return detail::try_read_some(*core_, n);
  }
  /// What readline() would return at once, as a view of the buffer (see
  /// try_read(n) for the view's lifetime).
  ///
  /// @return a view of a whole buffered line of at most limit() bytes
  /// (newline not counted), newline included, consumed; std::nullopt when
  /// none is buffered or an over-long line is being discarded.
  [[nodiscard]] std::optional<std::string_view> try_readline() noexcept { return detail::try_readline(*core_); }
  /// What readuntil(separator) would return at once, as a view of the
  /// buffer (see try_read(n) for the view's lifetime).
  ///
  /// @param separator the bytes that end the record.
  /// @return a view of the bytes up to and including a separator that starts
  /// within limit() bytes, consumed; std::nullopt when there is none or the
  /// separator is empty.
  [[nodiscard]] std::optional<std::string_view> try_readuntil(std::string_view separator = "\n") noexcept {
    return detail::try_readuntil(*core_, separator);
  }
  /// What readexactly(n) would return at once, as a view of the buffer (see
  /// try_read(n) for the view's lifetime).
  ///
  /// @param n how many bytes to take.
  /// @return a view of the first n buffered bytes, consumed; std::nullopt
  /// when fewer are buffered.
  [[nodiscard]] std::optional<std::string_view> try_readexactly(std::size_t n) noexcept {
    return detail::try_readexactly(*core_, n);
  }

  /// True once end of stream was fed (or received) and the buffer is empty.
  ///
  /// @return whether the reader is at end of stream.
  bool at_eof() const noexcept { return core_->at_eof(); }

  /// The stored exception, or null.
  ///
  /// @return what set_exception stored (or the connection's error); null
  /// when none.
  std::exception_ptr exception() const noexcept { return core_->exception(); }

  /// Stores an exception: reads that the buffer cannot complete raise it,
  /// and a waiting read wakes. On a connected reader the waiting read wakes
  /// when the transport next completes.
  ///
  /// @param e the exception; null clears the stored one.
  void set_exception(std::exception_ptr e) { core_->set_exception(std::move(e)); }

  /// Appends bytes and wakes a waiting read; empty data is ignored. On a
  /// connected reader the protocol feeds; call it only while no read waits.
  ///
  /// @param bytes the bytes to append (copied).
  /// @throws costream::system_error errc::feed_after_eof after feed_eof();
  /// errc::concurrent_read on a connected reader whose transport is reading
  /// into the buffer at that moment.
  void feed_data(std::string_view bytes) { core_->feed_data(bytes); }

  /// Marks end of stream and wakes a waiting read.
  void feed_eof() { core_->feed_eof(); }

  /// The most a readline or readuntil may return, separator not counted.
  ///
  /// @return the limit the reader was made with.
  std::size_t limit() const noexcept { return core_->limit(); }

  /// The bytes buffered now, without consuming them; valid until the next
  /// operation on the reader.
  ///
  /// @return a view of the buffer.
  std::string_view buffered() const noexcept { return core_->buffer().view(); }

  /// The executor the reader's operations run on.
  ///
  /// @return the connection's executor, or the one a reader fed by hand
  /// was made with.
  executor_type get_executor() const noexcept { return core_->executor(); }

  /// The connection's protocol; null for a reader fed by hand.
  ///
  /// @return the protocol; null for a reader fed by hand.
  protocol_type* protocol() const noexcept { return protocol_.get(); }

 private:
  std::shared_ptr<detail::reader_core> core_;
  detail::protocol_ref<protocol_type> protocol_;
};

/// The reader of a TCP connection.
using stream_reader = basic_stream_reader<net::ip::tcp::socket>;

}  // namespace costream

#endif
