// costream/detail/closing_handshake.hpp: close() on a stream with a closing handshake of its own (TLS close_notify).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_CLOSING_HANDSHAKE_HPP
#define COSTREAM_DETAIL_CLOSING_HANDSHAKE_HPP

#include <costream/net.hpp>
#include <costream/error.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace costream {

/// asyncio's ssl_shutdown_timeout: how long close() waits for a layered
/// stream's closing handshake (TLS close_notify) before closing the socket.
inline constexpr std::chrono::milliseconds default_shutdown_timeout{std::chrono::seconds(30)};

}  // namespace costream

namespace costream::detail {

/// The closing handshake a protocol runs on close(), after its buffer is
/// flushed and before the socket is closed: stop reading (the handshake
/// reads the stream itself; a pending read must end first), run the
/// stream's async_shutdown, then end the connection. Only the deadline is
/// reported (wait_closed sees errc::timed_out): everything written was
/// flushed before it, and a peer that answers close_notify by closing its
/// socket (or not at all) is normal.
///
/// `Protocol` is a basic_stream_protocol, whose friend this is.
class closing_handshake {
 public:
  std::chrono::milliseconds timeout = default_shutdown_timeout;

  /// Starts the handshake (once), under the deadline.
  template <class Protocol>
  void start(const std::shared_ptr<Protocol>& self) {
    if (started_) return;
    started_ = true;
    deadline_.emplace(self->get_executor(), timeout);
    deadline_->async_wait([self](const error_code& ec) {
      if (!ec && !self->state_.lost()) self->connection_lost(make_error_code(errc::timed_out));
    });
    waiting_for_read_ = self->transport_.reading();
    self->transport_.stop_reading();
    if (!waiting_for_read_) run(self);
  }

  /// The protocol's pending read has ended: true if the handshake was
  /// waiting for it (and now runs).
  template <class Protocol>
  bool reading_stopped(const std::shared_ptr<Protocol>& self) {
    if (!waiting_for_read_) return false;
    waiting_for_read_ = false;
    run(self);
    return true;
  }

 private:
  template <class Protocol>
  void run(const std::shared_ptr<Protocol>& self) {
    if (self->state_.lost()) return;
    // `this` lives in *self, which the handler holds.
    self->transport_.stream().async_shutdown([self, this](const error_code&) {
      if (self->state_.lost()) return;
      deadline_->cancel();
      self->connection_lost({});
    });
  }

  std::optional<net::steady_timer> deadline_;  // made when the handshake starts
  bool started_ = false;
  bool waiting_for_read_ = false;
};

/// Streams without a closing handshake pay nothing for one.
struct no_closing_handshake {};

}  // namespace costream::detail

#endif
