// costream/detail/server_state.hpp: what a server shares with its accept loops and its connections.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_SERVER_STATE_HPP
#define COSTREAM_DETAIL_SERVER_STATE_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/connection.hpp>
#include <costream/detail/accept_pause.hpp>
#include <costream/detail/event.hpp>
#include <costream/detail/lean_spawn.hpp>
#include <costream/detail/listener.hpp>
#include <costream/detail/server_connection.hpp>
#include <costream/server_options.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace costream::detail {

inline void print_server_error(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << "costream: server: " << ex.what() << '\n';
  } catch (...) {
    std::cerr << "costream: server: unknown exception\n";
  }
}

/// The shared state of a server: its options, listening sockets and accept
/// loops, and the connections made through them.
///
/// Every connection takes one path: accepted on its own executor (a new
/// strand with strand_per_connection); configured from options_
/// (configure_accepted); upgraded by upgrade_ when there is one (TLS's
/// handshake, on the connection's executor); then its client callback is
/// started on the connection's executor. A server_connection counts it
/// from accept until it is lost and its callback has returned.
///
/// Stream is the connections' stream: the accepted socket itself, or a
/// layered stream (ssl::stream) that upgrade_ makes of it.
///
/// Threads: listen() and adopt() are called before the state is shared;
/// options_, callback_, upgrade_ and executor_ are only read after
/// construction; serving_ and open_ are atomic; everything else is touched
/// on strand_ only.
template <class Protocol, class Stream = typename Protocol::socket>
class server_state : public std::enable_shared_from_this<server_state<Protocol, Stream>> {
 public:
  using socket_type = typename Protocol::socket;
  using acceptor_type = typename Protocol::acceptor;
  using endpoint_type = typename Protocol::endpoint;
  using options_type = server_options_for<Protocol>;
  using reader_type = basic_stream_reader<Stream>;
  using writer_type = basic_stream_writer<Stream>;
  using protocol_type = basic_stream_protocol<Stream>;
  using connection_type = server_connection<server_state>;
  using callback_type = std::function<net::awaitable<void>(reader_type, writer_type)>;
  /// Makes a connection's protocol of an accepted socket (given the
  /// readers' limit); required when Stream is not the socket.
  using upgrade_type = std::function<net::awaitable<std::shared_ptr<protocol_type>>(socket_type, std::size_t)>;

  server_state(const net::any_io_executor& executor, callback_type callback, options_type options,
               upgrade_type upgrade = {})
      : executor_(executor),
        strand_(net::make_strand(executor)),
        callback_(std::move(callback)),
        options_(std::move(options)),
        upgrade_(std::move(upgrade)),
        changed_(strand_),
        room_(strand_) {
    if (!std::is_same_v<Stream, socket_type> && !upgrade_)
      throw std::invalid_argument("costream: a server of layered streams needs an upgrade");
  }

  const net::any_io_executor& strand() const noexcept { return strand_; }
  /// The executor the server was started on (its connections', unless each has a strand).
  const net::any_io_executor& executor() const noexcept { return executor_; }
  const options_type& options() const noexcept { return options_; }
  const std::vector<endpoint_type>& endpoints() const noexcept { return endpoints_; }
  bool is_serving() const noexcept { return serving_.load(); }
  /// close() has been requested: is_serving() turns false at once, before
  /// the strand gets to close the sockets.
  void set_closing() noexcept { serving_ = false; }

  // ---- before the state is shared ---------------------------------------

  /// Binds and listens on `endpoint`.
  void listen(const endpoint_type& endpoint) { add_listener(open_listener<acceptor_type>(strand_, endpoint, options_)); }
  /// Serves from a listening socket made elsewhere (see listening_socket).
  void adopt(listening_socket socket) {
    add_listener(adopt_listener<acceptor_type>(strand_, socket.native_handle(), options_.backlog));
  }
  /// Runs once when the server closes (e.g. to remove a Unix socket file).
  void set_close_action(std::function<void()> action) { close_action_ = std::move(action); }

  // ---- on strand_ ------------------------------------------------------

  void start_serving() {
    if (serving_.exchange(true) || closed_) return;
    for (std::size_t i = 0; i < listeners_.size(); ++i)
      net::co_spawn(strand_, accept_loop(this->shared_from_this(), i), net::detached);
  }

  void close() {
    serving_ = false;
    if (closed_) return;
    closed_ = true;
    for (auto& l : listeners_) {
      error_code ignored;
      l.acceptor.close(ignored);
      l.pause.cancel();
    }
    if (close_action_) close_action_();
    room_.notify_all();
    changed_.notify_all();
  }

  void set_error_handler(server_error_handler h) { error_handler_ = std::move(h); }

  /// close_clients / abort_clients: `action` runs on each open connection's executor.
  void for_each_connection(void (connection_type::*action)()) {
    for (auto& weak : connections_) {
      if (auto c = weak.lock()) net::dispatch(c->executor(), [c, action] { ((*c).*action)(); });
    }
  }

  /// Waits until the server is closed and, with `connections_too`, every
  /// connection made through it is gone. Completes with operation_aborted
  /// when cancelled.
  static net::awaitable<error_code> wait(std::shared_ptr<server_state> self, bool connections_too) {
    while (!(self->closed_ && (!connections_too || self->open_.load() == 0))) {
      if (error_code ec = co_await self->changed_.wait()) co_return ec;
    }
    co_return error_code{};
  }

 private:
  friend connection_type;

  struct listener {
    acceptor_type acceptor;
    accept_pause pause;
  };

  // Listeners are only added before serving starts: the accept loops' indices stay valid.
  void add_listener(acceptor_type acceptor) {
    endpoints_.push_back(acceptor.local_endpoint());
    listeners_.push_back(listener{std::move(acceptor), {}});
  }

  static net::awaitable<void> accept_loop(std::shared_ptr<server_state> self, std::size_t index) {
    listener& l = self->listeners_[index];
    for (;;) {
      if (self->closed_) co_return;
      if (!self->has_room()) {
        // At max_connections: the clients wait in the backlog until a
        // connection is gone (connection_gone) or an accept gives its
        // place back (below).
        error_code ignored = co_await self->room_.wait();
        (void)ignored;  // close() notifies too; the loop checks closed_
        continue;
      }
      auto executor = self->options_.strand_per_connection ? net::any_io_executor(net::make_strand(self->executor_))
                                                           : self->executor_;
      ++self->accepting_;
      auto [ec, socket] = co_await l.acceptor.async_accept(executor, compat::use_tuple);
      --self->accepting_;
      if (ec) self->room_.notify_all();  // the place this accept held is free (no waiter: a timer's cancel)
      if (self->closed_) co_return;
      if (!ec) {
        l.pause.reset();
        self->start_connection(std::move(socket));
        continue;
      }
      if (ec == net::error::operation_aborted) co_return;
      if (!resource_exhausted(ec)) {
        self->report(std::make_exception_ptr(system_error(ec, "costream: accept")));
        continue;
      }
      const std::chrono::milliseconds pause = l.pause.next();
      if (auto what = self->exhaustion_reports_.note(pause))
        self->report(std::make_exception_ptr(system_error(ec, *what)));
      co_await l.pause.wait(self->strand_, pause);
    }
  }

  // The path of every accepted socket; on strand_.
  void start_connection(socket_type socket) {
    configure_accepted(socket, options_);
    auto connection = new_connection(socket.get_executor());
    if (upgrade_) {
      // Runs on the connection's executor; close_clients and abort_clients
      // cancel it through the connection's slot.
      auto executor = socket.get_executor();
      const net::cancellation_slot slot = connection->upgrade_slot();
      net::co_spawn(executor, upgrade_(std::move(socket), options_.limit),
                     net::bind_cancellation_slot(slot, upgraded{std::move(connection)}));
    } else if constexpr (std::is_same_v<Stream, socket_type>) {
      std::shared_ptr<protocol_type> protocol;
      try {
        protocol = protocol_type::create(std::move(socket), options_.limit);
      } catch (...) {
        report(std::current_exception());
        return;
      }
      start_client(protocol, std::move(connection));
    }
  }

  // On strand_: whether one more accept fits under max_connections, counting
  // the accepts in progress (one per listener at most), so that no accepted
  // socket is ever over the cap.
  bool has_room() const noexcept {
    const std::size_t cap = options_.max_connections;
    return cap == 0 || open_.load() + accepting_ < cap;
  }

  // Spawns the client callback; on the connection's executor, or on strand_
  // before the connection's coroutines start.
  void start_client(const std::shared_ptr<protocol_type>& protocol, std::shared_ptr<connection_type> connection) {
    connection_type::attach(connection, protocol);
    // The callback's own coroutine is spawned, not one that awaits it: a
    // frame less per connection. Calling it runs none of its body (a
    // coroutine starts suspended, and a plain function is wrapped in one).
    // lean_spawn keeps no work guard of its own: the connection's record
    // holds the work shared by all (work_).
    net::awaitable<void> client;
    try {
      client = callback_(reader_type(protocol), writer_type(protocol));
    } catch (...) {
      report(std::current_exception());
      return;
    }
    lean_spawn(protocol->get_executor(), std::move(client), client_done{std::move(connection)});
  }

  // Completion of an upgrade: start the callback, or report why it failed
  // (unless close_clients or abort_clients stopped it). The connection
  // owns the server: one pointer reaches both.
  struct upgraded {
    std::shared_ptr<connection_type> connection;
    void operator()(std::exception_ptr e, std::shared_ptr<protocol_type> protocol) {
      server_state& self = connection->owner();
      if (!e) return self.start_client(protocol, std::move(connection));
      if (!connection->upgrade_stopped()) self.report(e);
    }
  };

  // Completion of a client callback; `connection` counts the callback as
  // running until then (and keeps the server alive). It is stored in the
  // frame of every running callback: one pointer, nothing more.
  struct client_done {
    std::shared_ptr<connection_type> connection;
    void operator()(std::exception_ptr e) const {
      if (e) connection->owner().report(e);
    }
  };

  std::shared_ptr<connection_type> new_connection(const net::any_io_executor& executor) {
    // Forgetting connections that are gone is a pass over the list: done
    // once at least half the entries may be stale, so churn stays O(1) each.
    if (connections_.size() > 2 * open_.load() + 16)
      std::erase_if(connections_, [](const std::weak_ptr<connection_type>& w) { return w.expired(); });
    ++open_;
    std::shared_ptr<const net::any_io_executor> work = work_.lock();
    if (!work) {
      work = std::make_shared<const net::any_io_executor>(net::prefer(executor_, net::execution::outstanding_work.tracked));
      work_ = work;
    }
    auto connection = std::make_shared<connection_type>(this->shared_from_this(), executor, std::move(work));
    connections_.push_back(connection);
    return connection;
  }

  // Any thread: a connection's last owner let it go. Only the last open
  // connection's end wakes wait_closed, so most cost no post.
  // At max_connections, the end of a connection at the cap wakes the accept
  // loops waiting for room (connections never exceed the cap, so that is
  // the one that makes room).
  void connection_gone() {
    const std::size_t before = open_.fetch_sub(1, std::memory_order_acq_rel);
    const bool made_room = before == options_.max_connections;
    if (before != 1 && !made_room) return;
    net::post(strand_, [self = this->shared_from_this(), made_room] {
      if (made_room) self->room_.notify_all();
      if (self->closed_ && self->open_.load() == 0) self->changed_.notify_all();
    });
  }

  // Any thread: the error handler runs on strand_.
  void report(std::exception_ptr e) {
    net::dispatch(strand_, [self = this->shared_from_this(), e] {
      if (!self->error_handler_) return print_server_error(e);
      try {
        self->error_handler_(e);
      } catch (...) {
        // A throwing error handler must not stop the server.
      }
    });
  }

  net::any_io_executor executor_;
  net::any_io_executor strand_;
  const callback_type callback_;
  const options_type options_;
  const upgrade_type upgrade_;
  std::vector<listener> listeners_;
  std::vector<endpoint_type> endpoints_;  // listeners_'s, in order
  std::atomic<bool> serving_{false};
  bool closed_ = false;
  std::atomic<std::size_t> open_{0};  // connections not yet gone (see server_connection)
  // The executor's work, shared by the open connections (each record holds
  // it): their client callbacks run without a work guard each (lean_spawn),
  // and an io_context must not run out of work while one waits on something
  // that holds none. The last record to go, on any thread, releases it.
  std::weak_ptr<const net::any_io_executor> work_;
  std::vector<std::weak_ptr<connection_type>> connections_;
  server_error_handler error_handler_;
  std::function<void()> close_action_;
  exhaustion_reports exhaustion_reports_;
  event changed_;  // closed_ changed, or the last connection went
  std::size_t accepting_ = 0;  // accepts in progress
  event room_;                 // a connection at the cap went, or an accept failed
};

}  // namespace costream::detail

#endif
