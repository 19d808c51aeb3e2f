// costream/server.hpp: basic_server, the listening side that start_server returns (asyncio's Server).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_SERVER_HPP
#define COSTREAM_SERVER_HPP

#include <costream/compat.hpp>
#include <costream/connection.hpp>
#include <costream/detail/event.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace costream {

/// Called with an exception that escaped a client callback (or an accept
/// error that pauses accepting). The default prints it to stderr.
using server_error_handler = std::function<void(std::exception_ptr)>;

namespace detail {

inline void print_server_error(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    std::cerr << "costream: server: " << ex.what() << '\n';
  } catch (...) {
    std::cerr << "costream: server: unknown exception\n";
  }
}

// Accept errors that mean "out of a resource for now" (EMFILE, ENFILE,
// ENOBUFS, ENOMEM): accepting pauses and resumes, as asyncio's does, instead
// of stopping the server. Compared by errno: Asio's system errors do not
// compare equal to std::errc (see system_errno).
inline bool resource_exhausted(const std::error_code& ec) {
  const int e = system_errno(ec);
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

// How long accepting pauses while a resource is exhausted: from the first
// delay, doubling while accepts keep failing, up to the last (asyncio pauses
// one second every time; starting short serves again sooner when the
// shortage was brief). Reports of the condition are at most once a second.
inline constexpr std::chrono::milliseconds accept_pause_first{5};
inline constexpr std::chrono::milliseconds accept_pause_max{1000};
inline constexpr std::chrono::milliseconds exhaustion_report_interval{1000};

/// The shared state of a server. Everything in it is touched on strand_
/// only, except serving_ (atomic, read anywhere) and upgrade_ (set before
/// serving starts, then only read).
///
/// Stream is the connections' stream: the accepted socket itself, or a
/// layered stream (ssl::stream) that upgrade_ makes of it (the TLS
/// handshake) on the connection's strand before the callback runs.
template <class Protocol, class Stream = typename Protocol::socket>
class server_state : public std::enable_shared_from_this<server_state<Protocol, Stream>> {
 public:
  using socket_type = typename Protocol::socket;
  using stream_type = Stream;
  using acceptor_type = typename Protocol::acceptor;
  using endpoint_type = typename Protocol::endpoint;
  using reader_type = basic_stream_reader<Stream>;
  using writer_type = basic_stream_writer<Stream>;
  using protocol_type = basic_stream_protocol<Stream>;
  using callback_type = std::function<asio::awaitable<void>(reader_type, writer_type)>;
  using upgrade_type = std::function<asio::awaitable<std::shared_ptr<protocol_type>>(socket_type)>;

  server_state(const asio::any_io_executor& executor, callback_type callback, std::size_t limit,
               bool strand_per_connection, bool no_delay)
      : executor_(executor),
        strand_(asio::make_strand(executor)),
        callback_(std::move(callback)),
        limit_(limit),
        strand_per_connection_(strand_per_connection),
        no_delay_(no_delay),
        changed_(strand_) {}

  const asio::any_io_executor& strand() const noexcept { return strand_; }
  std::vector<acceptor_type>& acceptors() noexcept { return acceptors_; }
  std::vector<endpoint_type>& endpoints() noexcept { return endpoints_; }
  bool is_serving() const noexcept { return serving_.load(); }
  /// close() has been requested: is_serving() turns false at once, before
  /// the strand gets to close the sockets.
  void set_closing() noexcept { serving_ = false; }
  void set_error_handler(server_error_handler h) { error_handler_ = std::move(h); }
  /// Runs once when the server closes (e.g. to remove a Unix socket file).
  void set_close_action(std::function<void()> action) { close_action_ = std::move(action); }
  /// Makes a connection's protocol of an accepted socket (the TLS
  /// handshake); required when Stream is not the socket. Set before serving.
  void set_upgrade(upgrade_type upgrade) { upgrade_ = std::move(upgrade); }

  // ---- on strand_ ------------------------------------------------------

  void start_serving() {
    if (serving_.exchange(true) || closed_) return;
    pause_timers_.resize(acceptors_.size());
    for (std::size_t i = 0; i < acceptors_.size(); ++i)
      asio::co_spawn(strand_, accept_loop(this->shared_from_this(), i), asio::detached);
  }

  void close() {
    serving_ = false;
    if (closed_) return;
    closed_ = true;
    for (auto& acceptor : acceptors_) {
      std::error_code ignored;
      acceptor.close(ignored);
    }
    for (auto& timer : pause_timers_) {
      if (timer) timer->cancel();
    }
    if (close_action_) close_action_();
    changed_.notify_all();
  }

  void for_each_client(void (protocol_type::*action)()) {
    for (auto& weak : clients_) {
      if (auto p = weak.lock()) asio::dispatch(p->get_executor(), [p, action] { ((*p).*action)(); });
    }
  }

  static asio::awaitable<void> wait_closed(std::shared_ptr<server_state> self, bool need_clients_gone) {
    while (!(self->closed_ && (!need_clients_gone || self->active_ == 0))) {
      if (std::error_code ec = co_await self->changed_.wait()) throw std::system_error(ec);
    }
  }

 private:
  static asio::awaitable<void> accept_loop(std::shared_ptr<server_state> self, std::size_t index) {
    std::chrono::milliseconds pause{0};  // the next pause if a resource is still exhausted
    for (;;) {
      if (self->closed_) co_return;
      auto executor = self->strand_per_connection_ ? asio::any_io_executor(asio::make_strand(self->executor_))
                                                   : self->executor_;
      auto [ec, socket] = co_await self->acceptors_[index].async_accept(executor, compat::use_tuple);
      if (self->closed_) co_return;
      if (!ec) {
        pause = std::chrono::milliseconds{0};
        self->start_client(std::move(socket));
        continue;
      }
      if (ec == asio::error::operation_aborted) co_return;
      if (!resource_exhausted(ec)) {
        self->report(std::make_exception_ptr(std::system_error(ec, "costream: accept")));
        continue;
      }
      // The client stays in the backlog and accepting again at once would
      // fail the same way: pause (using no CPU), then try again.
      pause = pause.count() == 0 ? accept_pause_first : std::min(2 * pause, accept_pause_max);
      self->report_exhausted(ec, pause);
      co_await self->pause_accepting(index, pause);
    }
  }

  // Waits `pause`, or until close().
  asio::awaitable<void> pause_accepting(std::size_t index, std::chrono::milliseconds pause) {
    auto& timer = pause_timers_[index];
    if (!timer) timer.emplace(strand_);
    timer->expires_after(pause);
    auto [ec] = co_await timer->async_wait(compat::use_tuple);
    (void)ec;
  }

  // Reports an exhausted resource at most once per exhaustion_report_interval,
  // saying how many failed accepts went unreported since the last report.
  void report_exhausted(const std::error_code& ec, std::chrono::milliseconds pause) {
    const auto now = std::chrono::steady_clock::now();
    if (last_exhaustion_report_ && now - *last_exhaustion_report_ < exhaustion_report_interval) {
      ++unreported_exhaustions_;
      return;
    }
    last_exhaustion_report_ = now;
    std::string what = "costream: accept: accepting paused for " + std::to_string(pause.count()) + " ms";
    if (unreported_exhaustions_ != 0)
      what += " (" + std::to_string(unreported_exhaustions_) + " more failed accepts since the last report)";
    unreported_exhaustions_ = 0;
    report(std::make_exception_ptr(std::system_error(ec, what)));
  }

  void start_client(socket_type socket) {
    std::error_code ec;
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      if (no_delay_) socket.set_option(asio::ip::tcp::no_delay(true), ec);
    }
    if constexpr (std::is_same_v<Stream, socket_type>) {
      std::shared_ptr<protocol_type> protocol;
      // The callback's own coroutine is spawned, not one that awaits it: a
      // frame less per connection. Calling it runs none of its body (a
      // coroutine starts suspended, and a plain function is wrapped in one).
      asio::awaitable<void> client;
      try {
        protocol = protocol_type::create(std::move(socket), limit_);
        client = callback_(reader_type(protocol), writer_type(protocol));
      } catch (...) {
        report(std::current_exception());
        return;
      }
      ++active_;
      clients_.push_back(protocol);
      asio::co_spawn(protocol->get_executor(), std::move(client),
                     [self = this->shared_from_this()](std::exception_ptr e) {
                       asio::post(self->strand_, [self, e] { self->client_done(e); });
                     });
    } else {
      // The handshake runs on the connection's strand; its failure reaches
      // the error handler as a callback's exception would.
      ++active_;
      auto executor = socket.get_executor();
      asio::co_spawn(executor, upgrade_and_run(this->shared_from_this(), callback_, std::move(socket)),
                     [self = this->shared_from_this()](std::exception_ptr e) {
                       asio::post(self->strand_, [self, e] { self->client_done(e); });
                     });
    }
  }

  static asio::awaitable<void> upgrade_and_run(std::shared_ptr<server_state> self, callback_type callback,
                                               socket_type socket) {
    std::shared_ptr<protocol_type> protocol = co_await self->upgrade_(std::move(socket));
    asio::post(self->strand_, [self, weak = std::weak_ptr<protocol_type>(protocol)] { self->clients_.push_back(weak); });
    co_await callback(reader_type(protocol), writer_type(protocol));
  }

  void client_done(std::exception_ptr e) {
    --active_;
    if (e) report(e);
    // Forgetting finished clients is a pass over the list: do it once at
    // least half the entries may be stale, so churn stays O(1) per client.
    if (clients_.size() > 2 * active_ + 16)
      std::erase_if(clients_, [](const std::weak_ptr<protocol_type>& w) { return w.expired(); });
    // Only wait_closed (on a closed server) waits for the last client; waking
    // the waiters on every client's end would cost a timer per connection.
    if (closed_ && active_ == 0) changed_.notify_all();
  }

  void report(std::exception_ptr e) {
    if (error_handler_) {
      try {
        error_handler_(e);
      } catch (...) {
        // A throwing error handler must not stop the server.
      }
    } else {
      print_server_error(e);
    }
  }

  asio::any_io_executor executor_;
  asio::any_io_executor strand_;
  callback_type callback_;
  std::size_t limit_;
  bool strand_per_connection_;
  bool no_delay_;
  std::vector<acceptor_type> acceptors_;
  std::vector<endpoint_type> endpoints_;
  std::atomic<bool> serving_{false};
  bool closed_ = false;
  std::size_t active_ = 0;  // client callbacks still running
  std::vector<std::weak_ptr<protocol_type>> clients_;
  server_error_handler error_handler_;
  std::function<void()> close_action_;
  upgrade_type upgrade_;
  std::vector<std::optional<asio::steady_timer>> pause_timers_;  // one per acceptor
  std::optional<std::chrono::steady_clock::time_point> last_exhaustion_report_;
  std::size_t unreported_exhaustions_ = 0;
  event changed_;  // closed_ or active_ changed
};

}  // namespace detail

/// A listening server (asyncio's Server), returned by start_server.
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
/// Destroying the server object closes it (as close()); running client
/// callbacks go on.
///
/// Thread safety: distinct objects: safe; shared objects: safe (every call
/// is carried out on the server's own strand).
///
/// Stream is the connections' stream type: the accepted socket (the
/// default), or ssl::stream for a TLS server (costream/tls.hpp).
template <class Protocol, class Stream = typename Protocol::socket>
class basic_server {
 public:
  using endpoint_type = typename Protocol::endpoint;
  using state_type = detail::server_state<Protocol, Stream>;

  explicit basic_server(std::shared_ptr<state_type> state) : state_(std::move(state)) {}
  basic_server(basic_server&&) noexcept = default;
  basic_server& operator=(basic_server&& other) noexcept {
    if (this != &other) {
      close();
      state_ = std::move(other.state_);
    }
    return *this;
  }
  basic_server(const basic_server&) = delete;
  basic_server& operator=(const basic_server&) = delete;
  ~basic_server() { close(); }

  /// Stops listening: the listening sockets are closed and no new
  /// connection is accepted. Connections already made go on (see
  /// close_clients / abort_clients). Idempotent.
  void close() {
    if (!state_) return;
    state_->set_closing();
    asio::dispatch(state_->strand(), [s = state_] { s->close(); });
  }

  /// Closes every client connection gracefully (buffered bytes are flushed).
  void close_clients() {
    asio::dispatch(state_->strand(), [s = state_] { s->for_each_client(&state_type::protocol_type::close); });
  }

  /// Closes every client connection at once, dropping unsent bytes.
  void abort_clients() {
    asio::dispatch(state_->strand(), [s = state_] { s->for_each_client(&state_type::protocol_type::abort); });
  }

  /// Starts accepting (start_server does, unless told not to). Idempotent.
  void start_serving() {
    asio::dispatch(state_->strand(), [s = state_] { s->start_serving(); });
  }

  /// True while accepting connections.
  bool is_serving() const noexcept { return state_ && state_->is_serving(); }

  /// Waits until the server is closed and every client callback has
  /// returned (asyncio 3.12+). Throws operation_aborted when cancelled.
  [[nodiscard]] asio::awaitable<void> wait_closed() {
    co_await asio::co_spawn(state_->strand(), state_type::wait_closed(state_, true), asio::use_awaitable);
  }

  /// Accepts connections until close() is called, then returns. Starts
  /// serving if it was not. Cancelled, it closes the server (as asyncio's
  /// serve_forever does) and throws operation_aborted; wait_closed() then
  /// waits for the client callbacks.
  [[nodiscard]] asio::awaitable<void> serve_forever() {
    start_serving();
    try {
      co_await asio::co_spawn(state_->strand(), state_type::wait_closed(state_, false), asio::use_awaitable);
    } catch (const std::system_error& e) {
      if (e.code() == asio::error::operation_aborted) close();
      throw;
    }
  }

  /// The addresses the server listens on; a port 0 request shows the real port.
  const std::vector<endpoint_type>& sockets() const noexcept { return state_->endpoints(); }

  /// Where exceptions escaping client callbacks go (stderr by default).
  void set_error_handler(server_error_handler handler) {
    asio::dispatch(state_->strand(), [s = state_, h = std::move(handler)]() mutable { s->set_error_handler(std::move(h)); });
  }

 private:
  std::shared_ptr<state_type> state_;
};

using server = basic_server<asio::ip::tcp>;

}  // namespace costream

#endif
