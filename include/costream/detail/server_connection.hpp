// costream/detail/server_connection.hpp: one connection a server made, from accept until it is gone.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_SERVER_CONNECTION_HPP
#define COSTREAM_DETAIL_SERVER_CONNECTION_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>

#include <memory>
#include <utility>

namespace costream::detail {

/// One connection a server made, from accept until it is gone: the server
/// counts these for wait_closed, and close_clients / abort_clients reach the
/// connection through them.
///
/// Shared by its owners, each until it is done: the connection's protocol
/// (hold_until_lost: until the connection is lost), the coroutine that
/// upgrades the socket (a TLS handshake) and the one that runs the client
/// callback (until they return). The server keeps a weak reference. The
/// last owner to let go, on whichever thread, ends the connection's count:
/// the destructor calls Owner::connection_gone().
///
/// Everything but executor() and owner() is touched on the connection's
/// executor only (or, before the connection's coroutines start, on the
/// server's strand).
template <class Owner>
class server_connection {
 public:
  using protocol_type = typename Owner::protocol_type;

  /// `executor`: the connection's; kept only when it is not the server's
  /// (a strand per connection), so that an idle connection's record stays
  /// small in the common case. `work`: the executor's outstanding work,
  /// shared by the server's open connections.
  server_connection(std::shared_ptr<Owner> owner, const net::any_io_executor& executor,
                    std::shared_ptr<const net::any_io_executor> work)
      : owner_(std::move(owner)),
        own_executor_(executor == owner_->executor() ? nullptr : std::make_unique<net::any_io_executor>(executor)),
        work_(std::move(work)) {}
  server_connection(const server_connection&) = delete;
  server_connection& operator=(const server_connection&) = delete;
  ~server_connection() { owner_->connection_gone(); }

  /// The connection's executor (its strand, or the server's executor).
  const net::any_io_executor& executor() const noexcept {
    return own_executor_ ? *own_executor_ : owner_->executor();
  }
  /// The server that made the connection.
  Owner& owner() const noexcept { return *owner_; }

  /// The connection is ready (accepted, upgraded): close() and abort() go to
  /// its protocol from now on, which keeps `self` until it is lost.
  static void attach(const std::shared_ptr<server_connection>& self, const std::shared_ptr<protocol_type>& protocol) {
    self->upgrading_ = false;
    self->protocol_ = protocol;
    protocol_access::hold_until_lost(*protocol, self);
  }

  /// close_clients: closes the connection after flushing what was written;
  /// a connection still being upgraded has nothing to flush and is aborted.
  void close() {
    if (auto protocol = protocol_.lock()) return protocol->close();
    stop_upgrade();
  }

  /// abort_clients: closes the connection at once.
  void abort() {
    if (auto protocol = protocol_.lock()) return protocol->abort();
    stop_upgrade();
  }

  /// Cancels the upgrade while it runs: bound to the upgrading coroutine.
  net::cancellation_slot upgrade_slot() noexcept { return upgrade_signal_.slot(); }
  /// The upgrade was cancelled by close() or abort(): its failure is no
  /// error to report.
  bool upgrade_stopped() const noexcept { return upgrade_stopped_; }

 private:
  void stop_upgrade() {
    if (!upgrading_ || upgrade_stopped_) return;
    upgrade_stopped_ = true;
    upgrade_signal_.emit(net::cancellation_type::terminal);
  }

  std::shared_ptr<Owner> owner_;
  std::unique_ptr<net::any_io_executor> own_executor_;  // null: the server's executor
  std::shared_ptr<const net::any_io_executor> work_;   // released after connection_gone()
  std::weak_ptr<protocol_type> protocol_;  // set by attach()
  net::cancellation_signal upgrade_signal_;
  bool upgrading_ = true;  // until attach(): close and abort cancel the upgrade
  bool upgrade_stopped_ = false;
};

}  // namespace costream::detail

#endif
