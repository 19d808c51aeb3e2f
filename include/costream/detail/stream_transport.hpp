// costream/detail/stream_transport.hpp: the transport of any Asio stream (ssl::stream, user types): continuous async reads.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_STREAM_TRANSPORT_HPP
#define COSTREAM_DETAIL_STREAM_TRANSPORT_HPP

#include <costream/net.hpp>
#include <costream/detail/byte_buffer.hpp>
#include <costream/detail/read_completion.hpp>
#include <costream/detail/reader_core.hpp>
#include <costream/detail/stream_traits.hpp>
#include <costream/detail/write_queue.hpp>

#include <cstddef>
#include <memory>
#include <string_view>
#include <system_error>
#include <utility>

namespace costream::detail {

/// The transport of any type modelling AsyncReadStream and AsyncWriteStream
/// (ssl::stream, a user's stream): driven through async_read_some and
/// async_write only.
///
/// Reading is continuous: an async_read_some into the reader's buffer is
/// always pending (the buffer is pinned meanwhile: consuming goes on, only
/// its storage does not move), until end of stream, an error, or more than
/// 2 x limit buffered (see reader_core). Writing hands the whole queue to
/// one async_write at a time.
///
/// The Owner is the protocol, as for socket_transport.
template <class Stream>
class stream_transport {
 public:
  using stream_type = Stream;
  static constexpr bool can_write_eof = false;
  static constexpr bool staged_writes = true;

  /// What a waiting connection reads into: one TLS record's worth.
  static constexpr std::size_t read_chunk = 16 * 1024;

  explicit stream_transport(Stream stream) : stream_(std::move(stream)) {}

  Stream& stream() noexcept { return stream_; }
  const Stream& stream() const noexcept { return stream_; }

  // ---- reading -------------------------------------------------------------

  template <class Owner>
  void begin_reading(const std::shared_ptr<Owner>& owner) {
    if (armed_ || ended_ || stopping_) return;
    armed_ = true;
    byte_buffer& buffer = owner->reader().buffer();
    char* room = buffer.prepare(read_chunk);
    buffer.pin();
    stream_.async_read_some(net::buffer(room, read_chunk), queued_read_completion<Owner>(owner));
  }

  template <class Owner>
  void resume_reading(const std::shared_ptr<Owner>& owner) {
    begin_reading(owner);
  }

  bool reading() const noexcept { return armed_; }

  /// Called by the owner's flush step; this transport queues its reads at
  /// once and leaves nothing to the flush (socket_transport does).
  template <class Owner>
  void rearm(const std::shared_ptr<Owner>&) noexcept {}

  /// Stops reading (before a closing handshake, which reads the stream
  /// itself): the pending read is cancelled through the socket under the
  /// stream; then the owner's reading_stopped(). Only for streams with a
  /// socket under them, and while no write is in flight.
  void stop_reading() {
    stopping_ = true;
    if (!armed_) return;
    error_code ignored;
    lowest_layer(stream_).cancel(ignored);
  }

  template <class Owner>
  void on_continue(std::shared_ptr<Owner>) {}

  template <class Owner>
  void on_read(std::shared_ptr<Owner> owner, const error_code& ec, std::size_t n) {
    armed_ = false;
    reader_core& reader = owner->reader();
    reader.buffer().unpin();
    reader.commit_data(n);
    if (owner->is_lost()) return;
    if (stopping_) {
      owner->reading_stopped();
    } else if (ec == net::error::operation_aborted && n == 0) {
      begin_reading(owner);  // the user cancelled the stream's operations
    } else if (ec) {
      ended_ = true;
      if (ec == net::error::eof) {
        owner->eof_received();
      } else {
        owner->connection_lost(ec);
      }
    } else if (reader.over_high_water()) {
      reader.pause_reading();
    } else {
      begin_reading(owner);
    }
    reader.data_received();  // last: the waiting read may run inside it
  }

  // ---- writing -------------------------------------------------------------

  bool flushing() const noexcept { return write_waiting_; }

  template <class Owner>
  void flush(const std::shared_ptr<Owner>& owner) {
    if (owner->is_lost() || write_waiting_) return;
    auto& queue = owner->write_queue();
    if (queue.pending().empty()) return owner->flushed();
    queue.in_flight().swap(queue.pending());
    write_waiting_ = true;
    byte_buffer& bytes = queue.in_flight();
    net::async_write(stream_, net::buffer(bytes.data(), bytes.size()),
                      [owner](const error_code& ec, std::size_t) {
                        auto& self = owner->transport();
                        self.write_waiting_ = false;
                        owner->write_queue().in_flight().clear();
                        if (owner->is_lost()) return;
                        if (ec) return owner->connection_lost(ec);
                        owner->wrote();
                        self.flush(owner);
                      });
  }

  error_code shutdown_send() { return net::error::operation_not_supported; }

  void close() noexcept { close_stream(stream_); }

 private:
  Stream stream_;
  bool armed_ = false;          // an async_read_some is pending
  bool ended_ = false;          // end of stream or an error was read
  bool stopping_ = false;       // stop_reading was called
  bool write_waiting_ = false;  // an async_write is in flight
};

}  // namespace costream::detail

#endif
