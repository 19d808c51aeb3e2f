// costream/stream_protocol.hpp: the adapter between a stream's transport and its reader and writer.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_STREAM_PROTOCOL_HPP
#define COSTREAM_STREAM_PROTOCOL_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/detail/closing_handshake.hpp>
#include <costream/detail/connection_state.hpp>
#include <costream/detail/event.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/detail/socket_transport.hpp>
#include <costream/detail/stream_traits.hpp>
#include <costream/detail/stream_transport.hpp>
#include <costream/detail/write_queue.hpp>
#include <costream/error.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace costream {

namespace detail {

/// The transport for a stream type: Asio's own sockets are read and written
/// in non-blocking mode, anything else through its async operations.
template <class Stream>
using transport_for = std::conditional_t<native_socket<Stream>, socket_transport<Stream>, stream_transport<Stream>>;

struct protocol_access;

}  // namespace detail

/// The adapter between one Asio stream and its reader and writer (asyncio's
/// StreamReaderProtocol together with the transport it drives).
///
/// It composes three parts, and data flows one way through them: the
/// transport (detail::socket_transport for Asio's sockets,
/// detail::stream_transport for any other stream, TLS included) reads
/// continuously into the reader's buffer and reports end of stream and
/// errors here; the reader's operations consume that buffer; the write
/// queue holds what was written until the transport sends it.
///
/// **Reading is continuous**, as asyncio's transport reads: the connection
/// learns that its peer closed (end of stream: at_eof() once the buffer is
/// drained; writing goes on, as a half-close allows) or reset it
/// (is_closing() true, wait_closed() completes with the error) whether or
/// not a read waits. asyncio's read flow control holds: the transport stops
/// reading once more than 2 x limit bytes are buffered and reads again when
/// a read must wait or the reads bring the buffer down to the limit. A
/// connection waiting for data holds no input buffer (see
/// detail::socket_transport).
///
/// **Writing is buffered**: write() appends and returns; one flush, run
/// when the writing coroutine next yields, sends everything pending with as
/// few system calls as the socket allows. On Asio's sockets a write of
/// 16 KiB or more that finds nothing queued is sent at once instead
/// (asyncio's transport sends every such write at once), so large payloads
/// are not copied. drain() waits while the buffer is above the high-water
/// mark, until it falls to the low-water mark.
///
/// A stream with a closing handshake of its own (ssl::stream: TLS's
/// close_notify, see detail::graceful_shutdown) gets it on close(), after
/// the buffer is flushed and before the socket is closed, bounded by
/// shutdown_timeout(); abort() skips it.
///
/// Users meet it as writer.protocol(); readers and writers hold it, and it
/// is closed (gracefully, as close()) when the last of them is destroyed.
///
/// @par Thread safety
/// Distinct objects: safe; shared objects: unsafe. Every call
/// must come from the stream's executor (make it a strand when the
/// io_context runs on several threads; start_server does).
///
/// @tparam Stream the connected stream: an Asio socket, an ssl::stream, any
/// type modelling AsyncReadStream and AsyncWriteStream.
template <class Stream>
class basic_stream_protocol final : public std::enable_shared_from_this<basic_stream_protocol<Stream>>,
                                    private detail::reader_transport {
  using transport_type = detail::transport_for<Stream>;

 public:
  /// The stream read and written.
  using stream_type = Stream;
  /// The executor the connection runs on: the stream's.
  using executor_type = net::any_io_executor;

  /// asyncio's connection_made: adopts a connected stream, creates the
  /// reader state with the given limit and starts reading. `received`:
  /// bytes that came from the stream before (start_tls keeps the plain
  /// text it had buffered), which the reader returns first.
  ///
  /// @param stream the connected stream, moved in; its executor is the
  /// connection's.
  /// @param limit the reader's limit (see basic_stream_reader::limit).
  /// @param received bytes to buffer before any the stream delivers.
  /// @return the protocol, reading; readers and writers made from it share it.
  /// @throws std::invalid_argument if limit is 0.
  static std::shared_ptr<basic_stream_protocol> create(Stream stream, std::size_t limit = COSTREAM_DEFAULT_LIMIT,
                                                       std::string_view received = {}) {
    auto protocol = std::make_shared<basic_stream_protocol>(private_tag{}, std::move(stream), limit);
    protocol->reader_.buffer().append(received);
    protocol->transport_.begin_reading(protocol);
    return protocol;
  }

  /// The key to the constructor, which std::make_shared must reach: use
  /// create().
  struct private_tag {
    /// Explicit, so that `{}` does not make one.
    explicit private_tag() = default;
  };
  /// For create() only (which also starts reading): adopts the stream and
  /// creates the reader state.
  ///
  /// @param stream the connected stream, moved in.
  /// @param limit the reader's limit.
  /// @throws std::invalid_argument if limit is 0.
  basic_stream_protocol(private_tag, Stream stream, std::size_t limit)
      : transport_(std::move(stream)), reader_(limit) {
    reader_.attach(this);
  }

  /// Not copyable: readers and writers share one through std::shared_ptr.
  basic_stream_protocol(const basic_stream_protocol&) = delete;
  /// Not copyable.
  basic_stream_protocol& operator=(const basic_stream_protocol&) = delete;

  /// Closes the stream.
  ~basic_stream_protocol() { transport_.close(); }

  /// The stream read and written.
  ///
  /// @return the connection's stream.
  Stream& stream() noexcept { return transport_.stream(); }
  /// The stream read and written.
  ///
  /// @return the connection's stream.
  const Stream& stream() const noexcept { return transport_.stream(); }
  /// The executor the connection runs on.
  ///
  /// @return the stream's executor.
  // The stream's own copy is the only one: an idle connection should cost
  // little. (Asio's I/O objects give it from a non-const member.)
  executor_type get_executor() const noexcept { return const_cast<Stream&>(transport_.stream()).get_executor(); }

  /// The reader state, shared with the reader handles.
  ///
  /// @return the state, sharing ownership of the protocol.
  std::shared_ptr<detail::reader_core> reader_core() {
    return std::shared_ptr<detail::reader_core>(this->shared_from_this(), &reader_);
  }

  // ---- writing ------------------------------------------------------------

  /// Buffers bytes for sending; never blocks. Misuse is reported in `ec`:
  /// errc::write_after_eof after write_eof(), errc::writer_closed after
  /// close(). On a connection already lost the bytes are dropped and drain()
  /// reports the loss (asyncio's behaviour).
  ///
  /// @param bytes the bytes to send.
  /// @param ec set to errc::write_after_eof or errc::writer_closed; cleared
  /// otherwise.
  void write(std::string_view bytes, error_code& ec) {
    ec = {};
    if (eof_requested_ || closing_) {
      ec = eof_requested_ ? errc::write_after_eof : errc::writer_closed;
      return;
    }
    if (bytes.empty() || state_.lost()) return;
    if constexpr (!transport_type::staged_writes) {
      if (bytes.size() >= direct_write_min && flush_idle()) {
        // A large write with nothing queued before it goes to the socket
        // now, as asyncio's transport does, instead of being copied into
        // the buffer first; only what the socket does not take is buffered.
        error_code send_ec;
        bytes.remove_prefix(transport_.write_now(bytes, send_ec));
        if (send_ec) return connection_lost(send_ec);
        if (bytes.empty()) return;
      }
    }
    queue_.append(bytes);
    schedule_flush();
    if (queue_.crossed_high()) pause_writing();
  }

  /// Half-closes: the write side is shut down once the buffer is flushed;
  /// the peer sees end of stream and can still send. No-op after close() or
  /// a previous write_eof().
  ///
  /// @throws costream::system_error operation_not_supported where the transport
  /// cannot half-close (can_write_eof() is false).
  void write_eof() {
    if (closing_ || eof_requested_) return;
    if (!can_write_eof()) throw system_error(error_code(net::error::operation_not_supported), "costream: write_eof");
    eof_requested_ = true;
    if (flush_idle()) flushed();
  }

  /// Whether the transport can half-close.
  ///
  /// @return true for Asio's sockets; false for any other stream, TLS
  /// included.
  static constexpr bool can_write_eof() noexcept { return transport_type::can_write_eof; }

  /// Closes after the buffer is flushed; is_closing() is true from now on.
  /// Readers see end of stream once the connection is closed.
  void close() {
    if (closing_) return;
    closing_ = true;
    if (!state_.lost() && flush_idle()) flushed();
  }

  /// Closes now, dropping unsent bytes. To the writer this is a lost
  /// connection: later writes are dropped and drain() reports the loss.
  void abort() { connection_lost({}); }

  /// close() or abort() was called, or the connection is gone.
  ///
  /// @return whether the connection is closing or gone.
  bool is_closing() const noexcept { return closing_ || state_.lost(); }

  /// Streams with a closing handshake (TLS): how long close() waits for it
  /// (default 30 s, asyncio's ssl_shutdown_timeout). When it passes, the
  /// socket is closed and wait_closed() reports errc::timed_out.
  ///
  /// @return the closing handshake's timeout.
  std::chrono::milliseconds shutdown_timeout() const noexcept
    requires detail::graceful_shutdown<Stream>
  {
    return shutdown_.timeout;
  }
  /// Sets how long close() waits for the closing handshake (see
  /// shutdown_timeout()).
  ///
  /// @param timeout the new timeout; a closing handshake already started
  /// keeps the one it started with.
  void set_shutdown_timeout(std::chrono::milliseconds timeout) noexcept
    requires detail::graceful_shutdown<Stream>
  {
    shutdown_.timeout = timeout;
  }

  /// The connection is closed (by either side, or lost to an error).
  ///
  /// @return whether the connection is gone.
  bool is_lost() const noexcept { return state_.lost(); }
  /// Why the connection was lost; empty for a local close or a clean end.
  ///
  /// @return the error, or an empty error_code.
  error_code lost_error() const noexcept { return state_.lost_error(); }

  /// The storage the reader's buffer holds now (0 for none): nothing while
  /// a connection of Asio's sockets waits for data with nothing buffered.
  ///
  /// @return the buffer's capacity in bytes.
  std::size_t read_buffer_capacity() const noexcept { return reader_.buffer().capacity(); }
  /// Reading is paused: more than 2 x limit bytes wait in the reader.
  ///
  /// @return whether the transport has stopped reading.
  bool is_reading_paused() const noexcept { return reader_.reading_paused(); }

  /// Bytes written but not yet handed to the kernel.
  ///
  /// @return the size of the write buffer.
  std::size_t write_buffer_size() const noexcept { return queue_.size(); }
  /// The high-water mark: writing pauses above it.
  ///
  /// @return the mark in bytes.
  std::size_t write_high_water() const noexcept { return queue_.high_water(); }
  /// The low-water mark: paused writing resumes at it.
  ///
  /// @return the mark in bytes.
  std::size_t write_low_water() const noexcept { return queue_.low_water(); }
  /// Writing is paused: the buffer rose above the high-water mark and has
  /// not fallen to the low-water mark since.
  ///
  /// @return whether drain() waits.
  bool is_writing_paused() const noexcept { return queue_.paused(); }

  /// asyncio's set_write_buffer_limits: high defaults to 64 KiB (or 4 x low
  /// when only low is given), low to high / 4.
  ///
  /// @param high the high-water mark in bytes; std::nullopt for the default.
  /// @param low the low-water mark in bytes; std::nullopt for the default.
  /// @throws std::invalid_argument if low > high.
  void set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low = std::nullopt) {
    queue_.set_limits(high, low);
    if (queue_.crossed_high()) pause_writing();
    wrote();
  }

  /// What drain() reports without waiting: the reader's stored error, or the
  /// connection's loss to an error (errc::connection_lost when it was
  /// closed without error before drain() was called); empty when drain may
  /// return or must wait for resume_writing.
  ///
  /// @return the error drain() would report now, or an empty error_code.
  error_code drain_error() const noexcept {
    if (reader_.has_exception()) return reader_.exception_code();
    if (state_.lost()) return state_.lost_error() ? state_.lost_error() : error_code(make_error_code(errc::connection_lost));
    return {};
  }

  /// Whether drain() would wait or report drain_error(): cheap enough to ask
  /// after every write.
  ///
  /// @return whether drain() would not return at once.
  bool drain_needed() const noexcept { return queue_.paused() || state_.lost() || reader_.has_exception(); }

  /// Waits while writing is paused. Completes with drain_error(), or
  /// operation_aborted when cancelled. A drain that was waiting when the
  /// connection closed without error returns normally (asyncio's waiting
  /// drain is woken by connection_lost(None) without an exception).
  ///
  /// @param self the protocol, kept alive by the wait.
  /// @return an awaitable of the outcome: empty, drain_error(), or
  /// operation_aborted.
  static net::awaitable<error_code> drain(std::shared_ptr<basic_stream_protocol> self) {
    for (bool waited = false;; waited = true) {
      if (waited && self->state_.lost() && !self->state_.lost_error() && !self->reader_.has_exception()) co_return error_code{};
      if (error_code ec = self->drain_error()) co_return ec;
      if (!self->queue_.paused()) co_return error_code{};
      if (error_code ec = co_await self->state_.changed(self->get_executor()).wait()) co_return ec;
    }
  }

  /// Waits until the connection is closed; completes with the error it was
  /// lost with, if any.
  ///
  /// @param self the protocol, kept alive by the wait.
  /// @return an awaitable of that error (empty for a clean close), or of
  /// operation_aborted when cancelled.
  static net::awaitable<error_code> wait_closed(std::shared_ptr<basic_stream_protocol> self) {
    while (!self->state_.lost()) {
      if (error_code ec = co_await self->state_.changed(self->get_executor()).wait()) co_return ec;
    }
    co_return self->state_.lost_error();
  }

 private:
  friend struct detail::protocol_access;
  friend class detail::closing_handshake;
  friend transport_type;
  template <class>
  friend class detail::connection_handler;
  template <class>
  friend class detail::read_completion;

  // From this size on, a write() finding nothing queued is sent at once
  // (smaller ones are batched until the writer yields). Asio's sockets only.
  static constexpr std::size_t direct_write_min = 16 * 1024;

  // ---- for the transport ----------------------------------------------------

  transport_type& transport() noexcept { return transport_; }
  detail::reader_core& reader() noexcept { return reader_; }
  detail::write_queue<transport_type::staged_writes>& write_queue() noexcept { return queue_; }

  // reader_transport: a read waits while reading is paused, or the reads
  // brought the buffer down to the limit.
  void resume_reading() override { transport_.resume_reading(this->shared_from_this()); }
  std::shared_ptr<void> keep_alive() override { return this->shared_from_this(); }
  net::any_io_executor executor() override { return get_executor(); }

  // ---- asyncio's protocol callbacks ----------------------------------------

  // The peer half-closed: the reader sees end of stream; writing goes on.
  void eof_received() { reader_.feed_eof(); }

  // The connection is gone: `error` empty for a local close, abort or clean
  // end. The reader gets end of stream (no error) or the error; drain and
  // wait_closed waiters wake. Unsent bytes are dropped.
  void connection_lost(error_code error) {
    if (!state_.mark_lost(error)) return;
    queue_.clear();
    transport_.close();
    if (error) {
      reader_.set_error(error);
    } else if (!reader_.eof()) {
      reader_.feed_eof();
    }
    queue_.unpause();
    state_.notify_changed();
  }

  // The write queue holds the paused state (drain() asks it); pausing needs
  // nothing else, resuming wakes the waiting drains.
  void pause_writing() {}

  void resume_writing() { state_.notify_changed(); }

  // The transport sent some of the queue.
  void wrote() {
    if (queue_.crossed_low()) resume_writing();
  }

  // Everything written has been handed to the kernel.
  void flushed() {
    wrote();
    if (state_.lost()) return;
    if (closing_) {
      if constexpr (detail::graceful_shutdown<Stream>) return shutdown_.start(this->shared_from_this());
      return connection_lost({});
    }
    if (eof_requested_ && !eof_sent_) {
      eof_sent_ = true;
      if (error_code ec = transport_.shutdown_send()) connection_lost(ec);
    }
  }

  // The transport stopped reading as asked (stop_reading).
  void reading_stopped() {
    if constexpr (detail::graceful_shutdown<Stream>) {
      if (shutdown_.reading_stopped(this->shared_from_this())) return;
    }
    state_.notify_changed();
  }

  // ---- flushing ------------------------------------------------------------

  // A flush is posted on the first write after the buffer was empty, so all
  // the writes a coroutine makes before it yields go out together.
  void schedule_flush() {
    if (flush_posted_ || transport_.flushing()) return;
    flush_posted_ = true;
    net::post(get_executor(), flush_step{this->shared_from_this()});
  }

  // For the transport: a flush is posted, and will queue the read the
  // transport left to it (socket_transport::rearm).
  bool flush_posted() const noexcept { return flush_posted_; }

  // The posted flush: sends what the coroutines wrote, then lets the
  // transport queue its read (see socket_transport::deliver). Destroyed
  // unrun, it drops the waiting read as an unrun read completion does
  // (connection_handler): the read it was to queue may be the one thing
  // that would have.
  struct flush_step : detail::connection_handler<basic_stream_protocol> {
    using detail::connection_handler<basic_stream_protocol>::connection_handler;

    void operator()() {
      std::shared_ptr<basic_stream_protocol> p = this->take_owner();
      p->flush_posted_ = false;
      p->transport_.flush(p);
      p->transport_.rearm(p);
    }
  };

  // No flush pending, waiting or in flight: the buffer is empty and stays so.
  bool flush_idle() const noexcept { return queue_.empty() && !transport_.flushing(); }

  transport_type transport_;
  detail::reader_core reader_;
  detail::write_queue<transport_type::staged_writes> queue_;
  bool flush_posted_ = false;  // a flush is queued on the executor
  bool eof_requested_ = false;
  bool eof_sent_ = false;
  bool closing_ = false;  // close() was called: writes are misuse from now on
  detail::connection_state state_;
  [[no_unique_address]] std::conditional_t<detail::graceful_shutdown<Stream>, detail::closing_handshake,
                                            detail::no_closing_handshake> shutdown_;
};

}  // namespace costream

#include <costream/detail/protocol_access.hpp>

#endif
