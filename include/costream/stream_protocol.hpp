// costream/stream_protocol.hpp: the adapter between an Asio stream and its reader and writer.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_STREAM_PROTOCOL_HPP
#define COSTREAM_STREAM_PROTOCOL_HPP

#include <costream/compat.hpp>
#include <costream/detail/byte_buffer.hpp>
#include <costream/detail/event.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/detail/stream_traits.hpp>
#include <costream/error.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace costream {

/// The defaults of asyncio's transports: pause writing above 64 KiB
/// buffered, resume at 16 KiB.
inline constexpr std::size_t default_write_high_water = 64 * 1024;
inline constexpr std::size_t default_write_low_water = default_write_high_water / 4;

/// asyncio's ssl_shutdown_timeout: how long close() waits for a layered
/// stream's closing handshake (TLS close_notify) before closing the socket.
inline constexpr std::chrono::milliseconds default_shutdown_timeout{std::chrono::seconds(30)};

namespace detail {

// The closing handshake of a graceful_shutdown stream: its deadline and timer.
struct shutdown_state {
  std::chrono::milliseconds timeout = default_shutdown_timeout;
  std::optional<asio::steady_timer> timer;  // made when the shutdown starts
  bool started = false;
};

struct no_shutdown_state {};

}  // namespace detail

/// The adapter between one Asio stream and its reader and writer (asyncio's
/// StreamReaderProtocol together with the transport it drives).
///
/// It owns the stream. Reading is on demand: the socket is read only when a
/// read on the reader needs more bytes than are buffered, straight into the
/// reader's buffer (this is asyncio's data_received/feed_data without the
/// copy). So asyncio's read-side flow control (stop reading above 2 x limit)
/// holds in its strictest form: the transport is paused whenever no read
/// waits, and a connection's input buffer never holds more than the waiting
/// read asked for plus one read chunk (64 KiB), or limit + one chunk while a
/// readuntil scans. End of stream and errors reach the reader as
/// eof_received() and connection_lost(error).
///
/// Writing is buffered: write() appends and returns; one flush, run when the
/// writing coroutine next yields (or at once when it waits to read), sends
/// everything pending with as few system calls as the socket allows. On
/// Asio's sockets a write of 16 KiB or more that finds nothing queued is
/// sent at once instead (asyncio's transport sends every such write at
/// once), so large payloads are not copied into the buffer.
/// pause_writing() and resume_writing() are called as the buffer crosses the
/// water marks, and drain() waits on them.
///
/// For Asio's own sockets (TCP, Unix, any basic_stream_socket) costream works
/// in non-blocking mode: it reads at once while data is there, and waits with a
/// small read (wait_read_size, 256 bytes) queued in Asio's reactor, so that a
/// connection waiting for data holds only that block and data arriving costs
/// one system call. Any other type modelling AsyncReadStream and
/// AsyncWriteStream (ssl::stream, user streams) is driven through
/// async_read_some and async_write.
///
/// A stream with a closing handshake of its own (ssl::stream: TLS's
/// close_notify, see detail::graceful_shutdown) gets it on close(), after
/// the buffer is flushed and before the socket is closed, bounded by
/// shutdown_timeout(); abort() skips it.
///
/// Users meet it as writer.protocol(); readers and writers hold it, and it is
/// closed (gracefully, as close()) when the last of them is destroyed.
///
/// Thread safety: distinct objects: safe; shared objects: unsafe. Every call
/// must come from the stream's executor (make it a strand when the
/// io_context runs on several threads; start_server does).
template <class Stream>
class basic_stream_protocol final : public std::enable_shared_from_this<basic_stream_protocol<Stream>>,
                              private detail::reader_source {
 public:
  using stream_type = Stream;
  using executor_type = asio::any_io_executor;

  /// asyncio's connection_made: adopts a connected stream and creates the
  /// reader state with the given limit.
  static std::shared_ptr<basic_stream_protocol> create(Stream stream, std::size_t limit = COSTREAM_DEFAULT_LIMIT) {
    return std::make_shared<basic_stream_protocol>(private_tag{}, std::move(stream), limit);
  }

  struct private_tag {
    explicit private_tag() = default;
  };
  basic_stream_protocol(private_tag, Stream stream, std::size_t limit)
      : stream_(std::move(stream)), executor_(stream_.get_executor()), reader_(executor_, limit) {
    reader_.attach(this);
    if constexpr (detail::native_socket<Stream>) {
      asio::error_code ec;
      stream_.non_blocking(true, ec);
      if (ec) throw std::system_error(ec, "costream: cannot make the socket non-blocking");
    }
  }

  basic_stream_protocol(const basic_stream_protocol&) = delete;
  basic_stream_protocol& operator=(const basic_stream_protocol&) = delete;

  ~basic_stream_protocol() { detail::close_stream(stream_); }

  Stream& stream() noexcept { return stream_; }
  const Stream& stream() const noexcept { return stream_; }
  const executor_type& get_executor() const noexcept { return executor_; }

  /// The reader state, shared with the reader handles.
  std::shared_ptr<detail::reader_core> reader_core() {
    return std::shared_ptr<detail::reader_core>(this->shared_from_this(), &reader_);
  }

  // ---- writing ------------------------------------------------------------

  /// Buffers bytes for sending; never blocks. Misuse is reported in `ec`:
  /// errc::write_after_eof after write_eof(), errc::writer_closed after
  /// close(). On a connection already lost the bytes are dropped and drain()
  /// reports the loss (asyncio's behaviour).
  void write(std::string_view bytes, std::error_code& ec) {
    ec = {};
    if (eof_requested_) {
      ec = errc::write_after_eof;
      return;
    }
    if (closing_) {
      ec = errc::writer_closed;
      return;
    }
    if (bytes.empty() || lost_) return;
    if constexpr (detail::native_socket<Stream>) {
      if (bytes.size() >= direct_write_min && flush_idle()) {
        // A large write with nothing queued before it goes to the socket
        // now, as asyncio's transport does, instead of being copied into the
        // buffer first; only what the socket does not take is buffered.
        asio::error_code send_ec;
        const std::size_t n = stream_.write_some(asio::buffer(bytes.data(), bytes.size()), send_ec);
        if (send_ec && !detail::would_block(send_ec)) return connection_lost(send_ec);
        bytes.remove_prefix(n);
        if (bytes.empty()) return;
      }
    }
    out_.append(bytes);
    schedule_flush();
    if (!paused_ && write_buffer_size() > high_water_) pause_writing();
  }

  /// Half-closes: the write side is shut down once the buffer is flushed;
  /// the peer sees end of stream and can still send. Throws
  /// std::system_error(operation_not_supported) where the transport cannot
  /// half-close (can_write_eof() is false).
  void write_eof() {
    if (closing_ || eof_requested_) return;
    if (!can_write_eof()) throw std::system_error(asio::error::operation_not_supported, "costream: write_eof");
    eof_requested_ = true;
    if (flush_idle()) after_flush();
  }

  static constexpr bool can_write_eof() noexcept { return detail::native_socket<Stream>; }

  /// Closes after the buffer is flushed; is_closing() is true from now on.
  /// Readers see end of stream once the connection is closed.
  void close() {
    if (closing_) return;
    closing_ = true;
    if (!lost_ && flush_idle()) after_flush();
  }

  /// Closes now, dropping unsent bytes. To the writer this is a lost
  /// connection: later writes are dropped and drain() reports the loss.
  void abort() { connection_lost({}); }

  bool is_closing() const noexcept { return closing_ || lost_; }

  /// Streams with a closing handshake (TLS): how long close() waits for it
  /// (default 30 s, asyncio's ssl_shutdown_timeout). When it passes, the
  /// socket is closed and wait_closed() reports errc::timed_out.
  std::chrono::milliseconds shutdown_timeout() const noexcept
    requires detail::graceful_shutdown<Stream>
  {
    return shutdown_.timeout;
  }
  void set_shutdown_timeout(std::chrono::milliseconds timeout) noexcept
    requires detail::graceful_shutdown<Stream>
  {
    shutdown_.timeout = timeout;
  }

  /// For start_tls: hands the stream over to whoever upgrades it, and ends
  /// this protocol as a local close does (its readers see end of stream, its
  /// writers a closed connection). The reader's buffered bytes stay in this
  /// reader; the caller takes them first. Requires an empty write buffer and
  /// no waiting read (start_tls makes sure of both).
  Stream release_stream() {
    Stream stream = std::move(stream_);
    if constexpr (detail::native_socket<Stream>) {
      asio::error_code ignored;
      stream.non_blocking(false, ignored);
    }
    closing_ = true;
    connection_lost({});
    return stream;
  }
  bool is_lost() const noexcept { return lost_; }

  /// Keeps `token` until the connection is lost (or the protocol destroyed,
  /// whichever comes first), then lets it go: how a server counts the
  /// connections still open. Dropped at once on a connection already lost.
  void hold_until_lost(std::shared_ptr<void> token) {
    if (!lost_) lost_token_ = std::move(token);
  }

  /// Why the connection was lost; empty for a local close or a clean end.
  std::error_code lost_error() const noexcept { return lost_error_; }

  /// What a connection waiting for data holds for input: Asio's sockets
  /// wait with a read of this size queued (see fill), so that data arriving
  /// costs no system call besides the read itself.
  static constexpr std::size_t wait_read_size = 256;

  /// The storage the reader's buffer holds now (0 for none): while a read
  /// waits on an empty buffer, at most wait_read_size; nothing once no read
  /// waits and nothing is buffered.
  std::size_t read_buffer_capacity() const noexcept { return reader_.buffer().capacity(); }

  std::size_t write_buffer_size() const noexcept { return out_.size() + in_flight_.size(); }
  std::size_t write_high_water() const noexcept { return high_water_; }
  std::size_t write_low_water() const noexcept { return low_water_; }
  bool is_writing_paused() const noexcept { return paused_; }

  /// asyncio's set_write_buffer_limits: high defaults to 64 KiB (or 4 x low
  /// when only low is given), low to high / 4. Requires high >= low.
  void set_write_buffer_limits(std::optional<std::size_t> high, std::optional<std::size_t> low = std::nullopt) {
    const std::size_t h = high ? *high : (low ? 4 * *low : default_write_high_water);
    const std::size_t l = low ? *low : h / 4;
    if (l > h) throw std::invalid_argument("costream: high-water mark must be >= low-water mark");
    high_water_ = h;
    low_water_ = l;
    if (!paused_ && write_buffer_size() > high_water_) pause_writing();
    after_progress();
  }

  /// What drain() reports without waiting: the reader's stored error, or the
  /// connection's loss (errc::connection_lost when it was closed without
  /// error); empty when drain may return or must wait for resume_writing.
  std::error_code drain_error() const noexcept {
    if (reader_.has_exception()) return reader_.exception_code();
    if (lost_) return lost_error_ ? lost_error_ : make_error_code(errc::connection_lost);
    return {};
  }

  /// Whether drain() would wait or report drain_error(): cheap enough to ask
  /// after every write.
  bool drain_needed() const noexcept { return paused_ || lost_ || reader_.has_exception(); }

  /// Waits while writing is paused. Completes with drain_error(), or
  /// operation_aborted when cancelled.
  static asio::awaitable<std::error_code> drain(std::shared_ptr<basic_stream_protocol> self) {
    for (;;) {
      if (std::error_code ec = self->drain_error()) co_return ec;
      if (!self->paused_) co_return std::error_code{};
      if (std::error_code ec = co_await self->changed().wait()) co_return ec;
    }
  }

  /// Waits until the connection is closed; completes with the error it was
  /// lost with, if any.
  static asio::awaitable<std::error_code> wait_closed(std::shared_ptr<basic_stream_protocol> self) {
    while (!self->lost_) {
      if (std::error_code ec = co_await self->changed().wait()) co_return ec;
    }
    co_return self->lost_error_;
  }

  // ---- asyncio's protocol callbacks ----------------------------------------

  /// The peer half-closed: the reader sees end of stream; writing goes on.
  void eof_received() { reader_.feed_eof(); }

  /// The connection is gone: `error` empty for a local close, abort or clean
  /// end. The reader gets end of stream (no error) or the error; drain and
  /// wait_closed waiters wake. Unsent bytes are dropped.
  void connection_lost(std::error_code error) {
    if (lost_) return;
    lost_ = true;
    lost_error_ = error;
    out_.clear();
    detail::close_stream(stream_);
    if (error) {
      reader_.set_error(error);
    } else if (!reader_.eof()) {
      reader_.feed_eof();
    }
    paused_ = false;
    notify_changed();
    lost_token_.reset();
  }

  void pause_writing() { paused_ = true; }

  void resume_writing() {
    paused_ = false;
    notify_changed();
  }

  // ---- handles ---------------------------------------------------------------

  void acquire_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }

  void release_handle() {
    if (handles_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      // Nobody can read or write any more: close, flushing what was written.
      asio::post(executor_, [self = this->shared_from_this()] { self->close(); });
    }
  }

 private:
  static constexpr std::size_t read_chunk = 64 * 1024;
  // From this size on, a write() finding nothing queued is sent at once
  // (smaller ones are batched until the writer yields).
  static constexpr std::size_t direct_write_min = 16 * 1024;
  // Reads completed without suspending before fill() yields to the executor.
  static constexpr unsigned max_reads_without_wait = 16;
  unsigned reads_without_wait_ = 0;
  // The last read returned less than it asked for: the socket's receive
  // queue was empty then, so the next fill waits first instead of paying a
  // read that would only say EAGAIN (data that arrived meanwhile completes
  // the wait at once).
  bool drained_ = true;  // a new connection waits for its first bytes

  std::shared_ptr<void> keep_alive() override { return this->shared_from_this(); }

  // Pins the reader's buffer while an asynchronous read writes into it; the
  // destructor covers a frame destroyed while the read is pending. (A class
  // member: g++ 12 cannot precompile a local class inside a coroutine.)
  struct pin_guard {
    explicit pin_guard(detail::byte_buffer& buffer) noexcept : buffer_(buffer) { buffer_.pin(); }
    pin_guard(const pin_guard&) = delete;
    pin_guard& operator=(const pin_guard&) = delete;
    ~pin_guard() { buffer_.unpin(); }
    detail::byte_buffer& buffer_;
  };

  // ---- reading -------------------------------------------------------------

  // reader_source::fill: one read into the reader's buffer, waiting for the
  // socket as needed. Completes with an error only for the wait itself
  // (operation_aborted); the stream's own errors and end of stream go to the
  // reader.
  asio::awaitable<std::error_code> fill(std::size_t wanted) override {
    auto self = this->shared_from_this();  // the stream must outlive the wait
    const detail::reader_core::wait_scope waiting(reader_);
    std::error_code ec;
    try {
      if (!lost_ && !out_.empty()) flush_now();  // the request goes out before we wait for its answer
      const std::size_t chunk = wanted > read_chunk ? wanted : read_chunk;
      detail::byte_buffer& buffer = reader_.buffer();
      if constexpr (detail::native_socket<Stream>) {
        // Once lost, the reader already has end of stream or the error.
        bool have_data = false;
        while (!lost_) {
          if (drained_ && !have_data) {
            // Wait for data with a small read queued in Asio's reactor, which
            // performs it when the socket becomes readable: unlike a readiness
            // wait (async_wait re-arms epoll with a system call) or a read that
            // would only say EAGAIN, this costs no system call of its own. A
            // waiting connection holds only this small block.
            drained_ = false;
            reads_without_wait_ = 0;
            if (buffer.empty() && buffer.capacity() > wait_read_size) buffer.release();
            char* room = buffer.prepare_exact(wait_read_size);
            const pin_guard pinned(buffer);  // a read that needs no wait may consume meanwhile
            auto [read_ec, n] =
                co_await stream_.async_read_some(asio::buffer(room, wait_read_size), compat::use_tuple);
            buffer.unpin();
            reader_.commit_data(n);
            if (n == 0 && buffer.empty()) buffer.release();  // the wait is over: hold nothing
            if (lost_) break;
            if (n == 0) {
              if (read_ec == asio::error::operation_aborted) {
                ec = read_ec;
              } else {
                read_failed(read_ec ? read_ec : asio::error::eof);
              }
              break;
            }
            if (n < wait_read_size) {
              drained_ = true;  // that was all there was
              break;
            }
            have_data = true;  // the small read came back full: read the rest at once
          }
          char* room = buffer.prepare(chunk);
          asio::error_code read_ec;
          const std::size_t n = stream_.read_some(asio::buffer(room, chunk), read_ec);
          if (!read_ec) {
            reader_.commit_data(n);
            drained_ = n < chunk;
            // A peer that keeps the socket full would let this coroutine read
            // on without ever suspending, starving every other connection on
            // the executor (asyncio gives each receive its own callback).
            // After a run of reads that needed no wait, let the others run once.
            if (++reads_without_wait_ == max_reads_without_wait) {
              reads_without_wait_ = 0;
              co_await asio::post(stream_.get_executor(), asio::use_awaitable);
            }
            break;
          }
          if (!detail::would_block(read_ec)) {
            read_failed(read_ec);
            break;
          }
          drained_ = true;
          if (have_data) break;
        }
      } else if (!lost_) {
        char* room = buffer.prepare(chunk);
        const pin_guard pinned(buffer);
        auto [read_ec, n] = co_await stream_.async_read_some(asio::buffer(room, chunk), compat::use_tuple);
        buffer.unpin();
        reader_.commit_data(n);
        if (n == 0 && !lost_) {
          if (read_ec == asio::error::operation_aborted) {
            ec = read_ec;
          } else if (read_ec) {
            read_failed(read_ec);
          }
        }
      }
    } catch (const std::system_error& e) {
      ec = e.code();  // Asio refuses to start an operation in an already-cancelled coroutine
    }
    if (!ec && detail::reader_core::cancelled(co_await asio::this_coro::cancellation_state)) {
      ec = asio::error::operation_aborted;
    }
    co_return ec;
  }

  void read_failed(const std::error_code& ec) {
    if (ec == asio::error::eof) {
      eof_received();
    } else {
      connection_lost(ec);
    }
  }

  // ---- flushing ------------------------------------------------------------

  // A flush is posted on the first write after the buffer was empty, so all
  // the writes a coroutine makes before it yields go out together.
  void schedule_flush() {
    if (flush_posted_ || write_waiting_) return;
    flush_posted_ = true;
    asio::post(executor_, [self = this->shared_from_this()] {
      self->flush_posted_ = false;
      self->flush_now();
    });
  }

  // No flush pending, waiting or in flight: the buffer is empty and stays so.
  bool flush_idle() const noexcept { return out_.empty() && !write_waiting_ && in_flight_.empty(); }

  void flush_now() {
    if (lost_ || write_waiting_) return;
    if constexpr (detail::native_socket<Stream>) {
      while (!out_.empty()) {
        asio::error_code ec;
        const std::size_t n = stream_.write_some(asio::buffer(out_.data(), out_.size()), ec);
        if (ec) {
          if (!detail::would_block(ec)) return connection_lost(ec);
          after_progress();
          write_waiting_ = true;
          stream_.async_wait(Stream::wait_write, [self = this->shared_from_this()](std::error_code wait_ec) {
            self->write_waiting_ = false;
            if (self->lost_) return;
            if (wait_ec) return self->connection_lost(wait_ec);
            self->flush_now();
          });
          return;
        }
        out_.consume(n);
      }
      out_.release();
    } else {
      if (out_.empty()) {
        if (in_flight_.empty()) after_flush();
        return;
      }
      in_flight_.swap(out_);
      write_waiting_ = true;
      asio::async_write(stream_, asio::buffer(in_flight_.data(), in_flight_.size()),
                        [self = this->shared_from_this()](std::error_code ec, std::size_t) {
                          self->write_waiting_ = false;
                          self->in_flight_.clear();
                          if (self->lost_) return;
                          if (ec) return self->connection_lost(ec);
                          self->after_progress();
                          self->flush_now();
                        });
      return;
    }
    after_flush();
  }

  void after_progress() {
    if (paused_ && write_buffer_size() <= low_water_) resume_writing();
  }

  // Everything written has been handed to the kernel.
  void after_flush() {
    after_progress();
    if (lost_) return;
    if (closing_) {
      if constexpr (detail::graceful_shutdown<Stream>) return start_shutdown();
      return connection_lost({});
    }
    if (eof_requested_ && !eof_sent_) {
      eof_sent_ = true;
      if constexpr (detail::native_socket<Stream>) {
        asio::error_code ec;
        stream_.shutdown(Stream::shutdown_send, ec);
        if (ec && ec != asio::error::not_connected) connection_lost(ec);
      }
    }
  }

  // close() on a stream with a closing handshake: run it, then close the
  // socket. Only the deadline is reported (wait_closed sees timed_out):
  // everything written was flushed before it, and a peer that answers
  // close_notify by closing its socket (or not at all) is normal.
  void start_shutdown() {
    if constexpr (detail::graceful_shutdown<Stream>) {
      if (shutdown_.started) return;
      shutdown_.started = true;
      auto self = this->shared_from_this();
      shutdown_.timer.emplace(executor_, shutdown_.timeout);
      shutdown_.timer->async_wait([self](const std::error_code& ec) {
        if (!ec && !self->lost_) self->connection_lost(make_error_code(errc::timed_out));
      });
      stream_.async_shutdown([self](const std::error_code&) {
        if (self->lost_) return;
        self->shutdown_.timer->cancel();
        self->connection_lost({});
      });
    }
  }

  detail::event& changed() {
    if (!changed_) changed_ = std::make_unique<detail::event>(executor_);
    return *changed_;
  }

  void notify_changed() {
    if (changed_) changed_->notify_all();
  }

  Stream stream_;
  executor_type executor_;
  detail::reader_core reader_;

  // Writing. Invariant: bytes in out_ are unsent; in_flight_ (generic streams
  // only) is being written by async_write and must not move.
  detail::byte_buffer out_;
  [[no_unique_address]] std::conditional_t<detail::native_socket<Stream>, detail::no_buffer, detail::byte_buffer>
      in_flight_;
  bool flush_posted_ = false;   // a flush_now is queued on the executor
  bool write_waiting_ = false;  // waiting for the socket to take more, or async_write in flight
  bool paused_ = false;
  std::size_t high_water_ = default_write_high_water;
  std::size_t low_water_ = default_write_low_water;
  bool eof_requested_ = false;
  bool eof_sent_ = false;
  bool closing_ = false;  // close() was called: writes are misuse from now on
  bool lost_ = false;     // the stream is closed
  std::error_code lost_error_;
  // drain and wait_closed waiters; made on first wait (most connections never pause, and an
  // idle connection should cost little)
  std::unique_ptr<detail::event> changed_;
  // Only streams with a closing handshake pay for its state.
  [[no_unique_address]] std::conditional_t<detail::graceful_shutdown<Stream>, detail::shutdown_state,
                                            detail::no_shutdown_state> shutdown_;

  std::atomic<int> handles_{0};
  std::shared_ptr<void> lost_token_;  // see hold_until_lost
};

}  // namespace costream

#endif
