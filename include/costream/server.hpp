// costream/server.hpp: basic_server, the listening side that start_server returns (asyncio's Server).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_SERVER_HPP
#define COSTREAM_SERVER_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/detail/server_state.hpp>
#include <costream/server_options.hpp>

#include <memory>
#include <system_error>
#include <utility>
#include <vector>

namespace costream {

/// A listening server (asyncio's Server), returned by start_server,
/// start_unix_server and their TLS forms.
///
/// Each accepted connection gets its own strand (by default) and its own
/// coroutine running the client callback; an exception escaping a callback
/// goes to the error handler (stderr by default) and never stops the
/// server. Accept errors are reported too. Running out of descriptors,
/// buffers or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) pauses accepting
/// instead of stopping: pending clients wait in the backlog, the pause
/// starts at 5 ms and doubles up to one second while accepts keep failing,
/// no CPU is used meanwhile, the condition reaches the error handler at
/// most once a second, and accepting resumes by itself.
///
/// A connection made through the server is open (for wait_closed,
/// close_clients and abort_clients) from the moment it is accepted until
/// it is lost (closed by either side, or aborted; asyncio's connection_lost)
/// and its client callback has returned. A callback that keeps its writer
/// (in a chat room's list, say) keeps its connection open after it returns.
///
/// Destroying the server object closes it (as close()); connections go on.
///
/// @par Thread safety
/// Distinct objects: safe; shared objects: safe (every call
/// is carried out on the server's own strand).
///
/// Stream is the connections' stream type: the accepted socket (the
/// default), or ssl::stream for a TLS server (costream/tls.hpp).
///
/// @tparam Protocol the Asio protocol listened on: net::ip::tcp or
/// net::local::stream_protocol.
/// @tparam Stream the connections' stream type.
template <class Protocol, class Stream = typename Protocol::socket>
class basic_server {
 public:
  /// The address type of the listening sockets (see sockets()).
  using endpoint_type = typename Protocol::endpoint;
  /// The state the server shares with its accept loops and connections
  /// (internal: start_server makes it).
  using state_type = detail::server_state<Protocol, Stream>;

  /// For start_server and its siblings, which make the state: call them
  /// instead.
  ///
  /// @param state the server's state, listening.
  explicit basic_server(std::shared_ptr<state_type> state) : state_(std::move(state)) {}
  /// Takes the server over; the moved-from object is left without one
  /// (destroying it does nothing).
  basic_server(basic_server&&) noexcept = default;
  /// Closes this server (as close()), then takes `other`'s over.
  ///
  /// @param other the server to take over; left without one.
  /// @return *this.
  basic_server& operator=(basic_server&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  /// Not copyable: one object owns the server (start_server's result).
  basic_server(const basic_server&) = delete;
  /// Not copyable.
  basic_server& operator=(const basic_server&) = delete;
  /// Closes the server (as close()); connections go on.
  ~basic_server() { close(); }

  /// Stops listening: the listening sockets are closed and no new
  /// connection is accepted. Connections already made go on (see
  /// close_clients / abort_clients). Idempotent.
  void close() {
    if (!state_) return;
    state_->set_closing();
    net::dispatch(state_->strand(), [s = state_] { s->close(); });
  }

  /// Closes every open connection gracefully (buffered bytes are flushed).
  /// A TLS connection still in its handshake is closed at once.
  void close_clients() {
    net::dispatch(state_->strand(), [s = state_] { s->for_each_connection(&state_type::connection_type::close); });
  }

  /// Closes every open connection at once, dropping unsent bytes.
  void abort_clients() {
    net::dispatch(state_->strand(), [s = state_] { s->for_each_connection(&state_type::connection_type::abort); });
  }

  /// Starts accepting (start_server does, unless told not to). Idempotent.
  void start_serving() {
    net::dispatch(state_->strand(), [s = state_] { s->start_serving(); });
  }

  /// True while accepting connections.
  ///
  /// @return whether the server accepts connections.
  bool is_serving() const noexcept { return state_ && state_->is_serving(); }

  /// Waits until the server is closed and every connection made through it
  /// is gone: lost, and its client callback returned (asyncio 3.12+, whose
  /// wait_closed waits for the connections; costream waits for the
  /// callbacks too, so what they use may be destroyed after it). Waits
  /// while the server is open, even with no connection.
  ///
  /// @return an awaitable that completes once the server and its
  /// connections are gone.
  /// @throws costream::system_error operation_aborted when cancelled.
  ///
  /// @par Cancellation
  /// Nothing changes: the server and its connections go on.
  [[nodiscard]] net::awaitable<void> wait_closed() {
    error_code ec;
    co_await wait_closed(ec);
    if (ec) throw system_error(ec, "costream: server: wait_closed");
  }

  /// As wait_closed(), with operation_aborted reported in `ec` instead of
  /// thrown. `ec` must outlive the awaitable.
  ///
  /// @param ec set to operation_aborted when cancelled; cleared otherwise.
  /// @return an awaitable that completes as wait_closed()'s does, or when
  /// cancelled.
  [[nodiscard]] net::awaitable<void> wait_closed(error_code& ec) { ec = co_await wait_on_strand(true); }

  /// Accepts connections until close() is called, then returns (without
  /// waiting for the connections). Starts serving if it was not.
  ///
  /// @return an awaitable that completes once the server is closed.
  /// @throws costream::system_error operation_aborted when cancelled.
  ///
  /// @par Cancellation
  /// As asyncio 3.13's: the server is closed, then serve_forever waits as
  /// wait_closed() does for every connection to go (a second cancellation
  /// ends that wait early), then throws operation_aborted.
  [[nodiscard]] net::awaitable<void> serve_forever() {
    start_serving();
    const error_code ec = co_await wait_on_strand(false);
    if (!ec) co_return;
    close();
    // Asio refuses to start anything in a cancelled coroutine: let the wait
    // start, still cancellable by a second cancellation.
    const bool throwing = co_await net::this_coro::throw_if_cancelled();
    co_await net::this_coro::throw_if_cancelled(false);
    error_code second;
    co_await wait_closed(second);
    co_await net::this_coro::throw_if_cancelled(throwing);
    throw system_error(ec, "costream: server: serve_forever");
  }

  /// The addresses the server listens on; a port 0 request shows the real port.
  ///
  /// @return one endpoint per listening socket.
  const std::vector<endpoint_type>& sockets() const noexcept { return state_->endpoints(); }

  /// Where exceptions escaping client callbacks go (stderr by default).
  ///
  /// @param handler called, on the server's strand, with each exception
  /// (see server_error_handler).
  void set_error_handler(server_error_handler handler) {
    net::dispatch(state_->strand(), [s = state_, h = std::move(handler)]() mutable { s->set_error_handler(std::move(h)); });
  }

 private:
  // The server's wait, run on its strand; operation_aborted when cancelled.
  net::awaitable<error_code> wait_on_strand(bool connections_too) {
    try {
      co_return co_await net::co_spawn(state_->strand(), state_type::wait(state_, connections_too),
                                        net::use_awaitable);
    } catch (...) {
      // Asio refuses to start an operation in an already-cancelled coroutine.
      co_return detail::current_system_error_or_rethrow();
    }
  }

  std::shared_ptr<state_type> state_;
};

/// A TCP server, as start_server returns it.
using server = basic_server<net::ip::tcp>;

}  // namespace costream

#endif
