// costream/stream_writer.hpp: basic_stream_writer, asyncio's StreamWriter for any Asio stream.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_STREAM_WRITER_HPP
#define COSTREAM_STREAM_WRITER_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/detail/protocol_ref.hpp>
#include <costream/detail/stream_traits.hpp>
#include <costream/error.hpp>
#include <costream/stream_protocol.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>

namespace costream {

/// asyncio's StreamWriter: buffered writes with flow control.
///
/// write() never blocks: it appends to the connection's buffer, and one
/// flush, run when the writing coroutine next yields (or waits to read),
/// sends everything pending in as few system calls as the socket allows.
/// drain() is the flow control: it returns at once while the buffer is at
/// or under the high-water mark (64 KiB by default); above it, it waits
/// until the buffer falls to the low-water mark (16 KiB).
///
/// A writer is a handle: copies refer to the same connection. The
/// connection is closed (gracefully, as close()) when its last reader and
/// writer handle are destroyed.
///
/// @par Faults
/// write() after close() or write_eof() is a usage error
/// (errc::writer_closed, errc::write_after_eof). A connection lost to the
/// peer (reset, broken pipe) is not reported by write(), which drops the
/// bytes as asyncio does, but by the next drain() and wait_closed(). No
/// write raises SIGPIPE.
///
/// @par Thread safety
/// Distinct objects: safe; shared objects: unsafe. Use a
/// writer from its connection's executor; from another thread, hand the
/// work over with costream::net::dispatch(writer.get_executor(), ...).
///
/// @tparam AsyncWriteStream the stream written to: an Asio socket, an
/// ssl::stream, any type modelling Asio's AsyncWriteStream (and
/// AsyncReadStream, for its protocol).
template <class AsyncWriteStream>
class basic_stream_writer {
 public:
  /// The stream written to.
  using stream_type = AsyncWriteStream;
  /// The adapter between the stream and its reader and writer.
  using protocol_type = basic_stream_protocol<AsyncWriteStream>;
  /// The executor the writer's operations run on.
  using executor_type = net::any_io_executor;

  /// The writer of a connection.
  ///
  /// @param protocol the connection's protocol, shared with its other
  /// readers and writers.
  explicit basic_stream_writer(std::shared_ptr<protocol_type> protocol) : protocol_(std::move(protocol)) {}

  /// Buffers bytes for sending and returns at once.
  ///
  /// @param bytes the bytes to send (copied, unless a large write goes to
  /// the socket at once: see basic_stream_protocol).
  /// @throws costream::system_error with errc::writer_closed after close(),
  /// errc::write_after_eof after write_eof().
  void write(std::string_view bytes) {
    error_code ec;
    protocol_->write(bytes, ec);
    if (ec) throw system_error(ec);
  }
  /// write(bytes) reporting its misuse in `ec` instead of throwing it.
  ///
  /// @param bytes the bytes to send.
  /// @param ec set to errc::writer_closed or errc::write_after_eof as
  /// write(bytes) throws them; cleared otherwise.
  void write(std::string_view bytes, error_code& ec) { protocol_->write(bytes, ec); }

  /// Writes every element of a range of byte strings, in order.
  ///
  /// @tparam Range a range whose elements convert to std::string_view.
  /// @param lines the byte strings to write, as write() each.
  /// @throws costream::system_error as write(); the elements before the one
  /// that failed are buffered.
  template <class Range>
  void writelines(const Range& lines) {
    for (std::string_view line : lines) write(line);
  }
  /// writelines(lines) reporting its misuse in `ec` instead of throwing it:
  /// stops at the first element write(bytes, ec) refuses.
  ///
  /// @tparam Range a range whose elements convert to std::string_view.
  /// @param lines the byte strings to write.
  /// @param ec as for write(bytes, ec).
  template <class Range>
  void writelines(const Range& lines, error_code& ec) {
    for (std::string_view line : lines) {
      write(line, ec);
      if (ec) return;
    }
  }

  /// Flow control: returns at once unless writing is paused (the buffer rose
  /// above the high-water mark); then waits until it falls to the low-water
  /// mark. Several coroutines may wait at once.
  ///
  /// @return an awaitable that completes once writing may go on.
  /// @throws costream::system_error the reader's stored exception (the
  /// connection's error) if any, rethrown as it was stored; once the
  /// connection is lost, its error, or errc::connection_lost after a close
  /// (asyncio's ConnectionResetError("Connection lost")); operation_aborted
  /// when cancelled.
  ///
  /// @par Cancellation
  /// Safe; the buffered bytes are still sent.
  [[nodiscard]] net::awaitable<void> drain() {
    // The common case, nothing to wait for, costs one coroutine frame.
    if (!protocol_->drain_needed()) co_return;
    error_code ec = protocol_->drain_error();
    if (!ec && protocol_->is_writing_paused()) ec = co_await protocol_type::drain(protocol_.shared());
    if (ec) throw_error(*protocol_, ec);
  }
  /// drain() reporting its error in `ec` instead of throwing it.
  ///
  /// @param ec set to the code of what drain() throws (cleared on success);
  /// it must outlive the awaitable.
  /// @return an awaitable that completes once writing may go on, or with
  /// `ec` set.
  [[nodiscard]] net::awaitable<void> drain(error_code& ec) {
    ec.clear();
    if (!protocol_->drain_needed()) co_return;
    ec = protocol_->drain_error();
    if (!ec && protocol_->is_writing_paused()) ec = co_await protocol_type::drain(protocol_.shared());
  }

  /// True when drain() would not return at once: writing is paused, or the
  /// connection has an error for drain() to report. A loop that writes many
  /// small replies can skip the coroutine frame of a drain() that has
  /// nothing to do: `if (writer.needs_drain()) co_await writer.drain();`
  /// is the same flow control as an unconditional drain().
  ///
  /// @return whether drain() would wait or report an error.
  bool needs_drain() const noexcept { return protocol_->drain_needed(); }

  /// Half-closes once the buffer is flushed: the peer reads end of stream
  /// and may go on sending; this side may go on reading. Later writes are
  /// errc::write_after_eof. No-op after close() or a previous write_eof().
  ///
  /// @throws costream::system_error operation_not_supported where
  /// can_write_eof() is false.
  void write_eof() { protocol_->write_eof(); }
  /// write_eof() reporting operation_not_supported in `ec` instead.
  ///
  /// @param ec set to operation_not_supported where can_write_eof() is
  /// false; cleared otherwise.
  void write_eof(error_code& ec) {
    ec.clear();
    if (!can_write_eof()) {
      ec = net::error::operation_not_supported;
      return;
    }
    protocol_->write_eof();
  }

  /// Whether the transport supports write_eof (TCP and Unix sockets: yes).
  ///
  /// @return false for streams without a half-close (TLS).
  static constexpr bool can_write_eof() noexcept { return protocol_type::can_write_eof(); }

  /// Closes the connection once the buffer is flushed. Readers see end of
  /// stream after that. Idempotent.
  void close() { protocol_->close(); }

  /// True from close() on, and once the connection is lost.
  ///
  /// @return whether the connection is closing or gone.
  bool is_closing() const noexcept { return protocol_->is_closing(); }

  /// Waits until the connection is closed.
  ///
  /// @return an awaitable that completes once the connection is closed.
  /// @throws costream::system_error the error the connection
  /// was lost with, if any (e.g. connection_reset); operation_aborted when
  /// cancelled.
  [[nodiscard]] net::awaitable<void> wait_closed() {
    error_code ec = co_await protocol_type::wait_closed(protocol_.shared());
    if (ec) throw system_error(ec);
  }
  /// wait_closed() reporting its error in `ec` instead of throwing it.
  ///
  /// @param ec set to the error the connection was lost with, or
  /// operation_aborted (cleared for a clean close); it must outlive the
  /// awaitable.
  /// @return an awaitable that completes once the connection is closed, or
  /// when cancelled.
  [[nodiscard]] net::awaitable<void> wait_closed(error_code& ec) {
    ec = co_await protocol_type::wait_closed(protocol_.shared());
  }

  /// Bytes written but not yet handed to the kernel.
  ///
  /// @return the size of the write buffer.
  std::size_t get_write_buffer_size() const noexcept { return protocol_->write_buffer_size(); }

  /// The water marks as {high, low}.
  ///
  /// @return the high-water and the low-water mark, in bytes.
  std::pair<std::size_t, std::size_t> get_write_buffer_limits() const noexcept {
    return {protocol_->write_high_water(), protocol_->write_low_water()};
  }

  /// asyncio's set_write_buffer_limits: high defaults to 64 KiB (4 x low if
  /// only low is given), low to high / 4.
  ///
  /// @param high the high-water mark in bytes; std::nullopt for the default.
  /// @param low the low-water mark in bytes; std::nullopt for the default.
  /// @throws std::invalid_argument if low > high.
  void set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low = std::nullopt) {
    protocol_->set_write_buffer_limits(high, low);
  }
  /// set_write_buffer_limits() reporting low > high in `ec`
  /// (std::errc::invalid_argument) instead, the limits unchanged.
  ///
  /// @param high the high-water mark in bytes; std::nullopt for the default.
  /// @param low the low-water mark in bytes; std::nullopt for the default.
  /// @param ec set to std::errc::invalid_argument if low > high; cleared
  /// otherwise.
  void set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low, error_code& ec) {
    ec.clear();
    const auto [h, l] = detail::write_queue<false>::resolve_limits(high, low);
    if (l > h) {
      ec = std::make_error_code(std::errc::invalid_argument);
      return;
    }
    protocol_->set_write_buffer_limits(h, l);
  }

  /// The underlying Asio stream.
  ///
  /// @return the connection's stream.
  stream_type& stream() const noexcept { return protocol_->stream(); }

  /// The peer's address (asyncio's get_extra_info("peername")).
  ///
  /// @return the remote endpoint of the socket at the bottom of the stream.
  /// @throws costream::system_error as Asio's remote_endpoint(), e.g. once the
  /// socket is closed.
  auto remote_endpoint() const { return detail::lowest_layer(protocol_->stream()).remote_endpoint(); }
  /// This side's address (get_extra_info("sockname")).
  ///
  /// @return the local endpoint of the socket at the bottom of the stream.
  /// @throws costream::system_error as Asio's local_endpoint(), e.g. once the
  /// socket is closed.
  auto local_endpoint() const { return detail::lowest_layer(protocol_->stream()).local_endpoint(); }

  /// The adapter behind this writer (asyncio's writer.transport and protocol).
  ///
  /// @return the connection's protocol.
  protocol_type& protocol() const noexcept { return *protocol_; }

  /// The executor the writer's operations run on.
  ///
  /// @return the connection's executor.
  executor_type get_executor() const noexcept { return protocol_->get_executor(); }

 private:
  static void throw_error(protocol_type& p, const error_code& ec) {
    std::exception_ptr stored = p.reader_core()->exception();
    if (stored && p.reader_core()->exception_code() == ec) std::rethrow_exception(stored);
    throw system_error(ec);
  }

  detail::protocol_ref<protocol_type> protocol_;
};

/// The writer of a TCP connection.
using stream_writer = basic_stream_writer<net::ip::tcp::socket>;

}  // namespace costream

#endif
