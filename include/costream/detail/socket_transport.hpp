// costream/detail/socket_transport.hpp: the transport of Asio's own sockets: continuous non-blocking reads, direct writes.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_SOCKET_TRANSPORT_HPP
#define COSTREAM_DETAIL_SOCKET_TRANSPORT_HPP

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

/// The transport of a socket of Asio's own (TCP, Unix, any
/// basic_stream_socket), in non-blocking mode.
///
/// Reading is continuous, as asyncio's transport reads: whether or not a
/// read waits, arriving bytes go to the reader's buffer, and end of stream
/// and errors reach the connection at once. While waiting for data it
/// holds no buffer: a read of wait_read_size bytes into a small room inside
/// the transport is queued in Asio's reactor, which performs it when the
/// socket becomes readable (a readiness wait would re-arm epoll with a
/// system call each time; this costs none of its own). Bytes that fill the
/// room are followed by non-blocking reads straight into the reader's
/// buffer. Reading pauses above 2 x limit buffered (see reader_core).
///
/// Writing: flush() sends the queue with non-blocking writes and waits for
/// writability only when the socket is full; write_now() lets a large write
/// skip the queue when nothing is queued.
///
/// The Owner (the protocol) provides reader(), write_queue(), is_lost(),
/// eof_received(), connection_lost(ec), reading_stopped(), wrote() and
/// get_executor().
template <class Socket>
class socket_transport {
 public:
  using stream_type = Socket;
  static constexpr bool can_write_eof = true;
  static constexpr bool staged_writes = false;

  /// The room a waiting connection reads into.
  static constexpr std::size_t wait_read_size = 64;

  explicit socket_transport(Socket socket) : socket_(std::move(socket)) {
    error_code ec;
    socket_.non_blocking(true, ec);
    if (ec) throw system_error(ec, "costream: cannot make the socket non-blocking");
  }

  Socket& stream() noexcept { return socket_; }
  const Socket& stream() const noexcept { return socket_; }

  // ---- reading -------------------------------------------------------------

  /// Starts reading a new connection: the read into the room is queued.
  template <class Owner>
  void begin_reading(const std::shared_ptr<Owner>& owner) {
    rearm_pending_ = false;
    if (armed_ || end_ || stopping_) return;
    armed_ = true;
    socket_.async_read_some(net::buffer(room_, wait_read_size), queued_read_completion<Owner>(owner));
  }

  /// Queues the read that delivery left to the owner's flush (see deliver):
  /// called by the flush step, after the replies have been handed to the
  /// kernel. Nothing happens if reading went on meanwhile or was stopped.
  template <class Owner>
  void rearm(const std::shared_ptr<Owner>& owner) {
    if (!rearm_pending_) return;
    rearm_pending_ = false;
    if (!owner->is_lost()) begin_reading(owner);
  }

  /// Reads again after a pause, later (never inside this call): the socket
  /// may hold bytes that no readiness edge will announce again.
  template <class Owner>
  void resume_reading(const std::shared_ptr<Owner>& owner) {
    if (armed_ || end_ || stopping_) return;
    armed_ = true;
    net::post(owner->get_executor(), read_completion<Owner>(owner));
  }

  /// A read or a posted continuation is pending, or the flush will queue one.
  bool reading() const noexcept { return armed_ || rearm_pending_; }

  /// Stops reading (start_tls): the pending read is cancelled; what it read
  /// before still reaches the reader, then the owner's reading_stopped().
  /// A writability wait cancelled with it is restarted (see flush).
  void stop_reading() {
    stopping_ = true;
    rearm_pending_ = false;  // nothing is queued: reading has stopped already
    if (!armed_) return;
    error_code ignored;
    socket_.cancel(ignored);
  }

  /// A posted continuation: read what the socket holds.
  template <class Owner>
  void on_continue(std::shared_ptr<Owner> owner) {
    armed_ = false;
    if (owner->is_lost()) return;
    deliver(owner, stopping_ ? outcome::drained : read_available(owner->reader()));
  }

  /// The queued read into the room completed.
  template <class Owner>
  void on_read(std::shared_ptr<Owner> owner, const error_code& ec, std::size_t n) {
    armed_ = false;
    if (owner->is_lost()) return;
    reader_core& reader = owner->reader();
    if (n != 0) {
      reader.buffer().append(std::string_view(room_, n));
      if (n == wait_read_size && !stopping_) return deliver(owner, read_available(reader));
      return deliver(owner, reader.over_high_water() ? outcome::paused : outcome::drained);
    }
    if (stopping_) return owner->reading_stopped();
    if (ec == net::error::operation_aborted) return begin_reading(owner);  // the user cancelled the socket
    end_ = ec ? ec : net::error::eof;
    deliver(owner, outcome::ended);
  }

  // ---- writing -------------------------------------------------------------

  /// Sends at once what the socket takes of `bytes`; returns how much.
  /// An error other than "would block" is left in `ec`.
  std::size_t write_now(std::string_view bytes, error_code& ec) {
    const std::size_t n = write_some(net::buffer(bytes.data(), bytes.size()), ec);
    if (ec && would_block(ec)) ec = {};
    return n;
  }

  /// A flush is waiting for the socket to take more.
  bool flushing() const noexcept { return write_waiting_; }

  /// Sends the queue; waits for writability when the socket is full. The
  /// owner hears of progress (wrote), of the end of the queue (flushed) and
  /// of errors (connection_lost).
  template <class Owner>
  void flush(const std::shared_ptr<Owner>& owner) {
    if (owner->is_lost() || write_waiting_) return;
    byte_buffer& out = owner->write_queue().pending();
    while (!out.empty()) {
      error_code ec;
      const std::size_t n = write_some(net::buffer(out.data(), out.size()), ec);
      if (ec) {
        if (!would_block(ec)) return owner->connection_lost(ec);
        owner->wrote();
        write_waiting_ = true;
        socket_.async_wait(Socket::wait_write, [owner](const error_code& wait_ec) {
          auto& self = owner->transport();
          self.write_waiting_ = false;
          if (owner->is_lost()) return;
          // Cancelled by stop_reading: the socket is still there; wait again.
          if (wait_ec && wait_ec != net::error::operation_aborted) return owner->connection_lost(wait_ec);
          self.flush(owner);
        });
        return;
      }
      out.consume(n);
    }
    out.release();
    owner->flushed();
  }

  /// Half-closes the sending side (write_eof, once flushed).
  error_code shutdown_send() {
    error_code ec;
    socket_.shutdown(Socket::shutdown_send, ec);
    if (ec == net::error::not_connected) ec = {};
    return ec;
  }

  void close() noexcept { close_stream(socket_); }

  /// Hands the socket over (start_tls, after stop_reading), in blocking mode as it came.
  Socket release() {
    Socket socket = std::move(socket_);
    error_code ignored;
    socket.non_blocking(false, ignored);
    return socket;
  }

 private:
  enum class outcome { drained, more, paused, ended };

  static constexpr std::size_t read_chunk = 64 * 1024;
  // Reads in a row before the connection lets the others on its executor
  // run: a peer that keeps the socket full must not starve them (asyncio
  // gives each receive its own callback).
  static constexpr unsigned reads_per_turn = 16;

  // One non-blocking read or write (`call` is the socket's read_some or
  // write_some). A signal may interrupt it (EINTR, which POSIX allows even
  // without waiting): Asio's asynchronous operations try again, but its
  // synchronous read_some and write_some hand EINTR back, and taken for an
  // error it would end the connection. So this tries again too.
  template <class Call>
  static std::size_t retrying_interrupts(Call call, error_code& ec) {
    for (;;) {
      const std::size_t n = call(ec);
      if (ec != net::error::interrupted) return n;
    }
  }

  std::size_t read_some(const net::mutable_buffer& buffer, error_code& ec) {
    return retrying_interrupts([&](error_code& e) { return socket_.read_some(buffer, e); }, ec);
  }

  std::size_t write_some(const net::const_buffer& buffer, error_code& ec) {
    return retrying_interrupts([&](error_code& e) { return socket_.write_some(buffer, e); }, ec);
  }

  // Non-blocking reads into the reader's buffer until the socket is empty,
  // the buffer is over 2 x limit, or the turn is over. As asyncio's
  // transport, it reads before it looks at the buffer: a read resumed
  // because it needs more than 2 x limit gets more.
  outcome read_available(reader_core& reader) {
    byte_buffer& buffer = reader.buffer();
    for (unsigned i = 0; i < reads_per_turn; ++i) {
      char* room = buffer.prepare(read_chunk);
      error_code ec;
      const std::size_t n = read_some(net::buffer(room, read_chunk), ec);
      if (ec) {
        if (would_block(ec)) return outcome::drained;
        end_ = ec;
        return outcome::ended;
      }
      reader.commit_data(n);
      if (reader.over_high_water()) return outcome::paused;
      if (n < read_chunk) return outcome::drained;
    }
    return outcome::more;
  }

  // After bytes arrived: decide how reading goes on, then tell the reader
  // (last: its waiting read may run inside data_received()).
  //
  // Drained, the socket holds nothing now, and a read queued at once would
  // be tried at once (Asio reads speculatively while the socket's readiness
  // edge is unspent, and on Asio 1.22 only a read of 0 bytes spends it): a
  // system call that finds nothing, on every request of a request/reply
  // protocol. So the queueing waits for the reader: if the reply the woken
  // handler writes posts a flush, the flush step queues the read after the
  // reply has gone out (rearm), when the peer may already have answered;
  // otherwise it is queued when data_received() returns, as before.
  template <class Owner>
  void deliver(std::shared_ptr<Owner>& owner, outcome result) {
    reader_core& reader = owner->reader();
    switch (result) {
      case outcome::ended:
        if (end_ == net::error::eof) {
          owner->eof_received();
        } else {
          owner->connection_lost(end_);
        }
        break;
      case outcome::paused:
        reader.pause_reading();
        break;
      case outcome::more:
        if (!stopping_) {
          armed_ = true;
          net::post(owner->get_executor(), read_completion<Owner>(owner));
        }
        break;
      case outcome::drained:
        if (!stopping_) rearm_pending_ = true;
        break;
    }
    if (stopping_) owner->reading_stopped();
    reader.data_received();
    if (rearm_pending_ && !owner->flush_posted()) rearm(owner);
  }

  Socket socket_;
  error_code end_;        // why reading ended: set once end of stream or an error was read
  bool armed_ = false;          // a read into room_ or a continuation is pending
  bool rearm_pending_ = false;  // the owner's posted flush queues the read (see deliver)
  bool stopping_ = false;       // stop_reading was called
  bool write_waiting_ = false;  // a flush waits for writability
  char room_[wait_read_size];
};

}  // namespace costream::detail

#endif
