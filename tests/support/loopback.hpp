// tests/support/loopback.hpp: helpers for integration tests on TCP loopback: raw peers, timeouts, test data.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_LOOPBACK_HPP
#define COSTREAM_TESTS_SUPPORT_LOOPBACK_HPP

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>

namespace costream::test {

inline asio::ip::address loopback_v4() { return asio::ip::make_address("127.0.0.1"); }

/// A loopback port nobody listens on, for as long as this lives: a socket
/// stays bound to it without listening, so a connect is refused, and no
/// server that another test starts meanwhile on port 0 can be given it (a
/// port merely bound and closed again could be).
class refusing_port {
 public:
  explicit refusing_port(const char* address) : socket_(io_) {
    const asio::ip::tcp::endpoint any(asio::ip::make_address(address), 0);
    socket_.open(any.protocol());
    socket_.bind(any);
    endpoint_ = socket_.local_endpoint();
  }
  const asio::ip::tcp::endpoint& endpoint() const noexcept { return endpoint_; }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  asio::ip::tcp::endpoint endpoint_;
};

/// A plain Asio listener on 127.0.0.1 with a kernel-chosen port, for tests
/// that need a peer they drive by hand (one that does not read, that
/// resets, that half-closes at a chosen moment).
class raw_listener {
 public:
  /// `receive_buffer`: SO_RCVBUF for the accepted sockets (set on the
  /// listener, so it holds from the handshake on; it also stops the kernel
  /// from growing the buffer on its own).
  explicit raw_listener(const asio::any_io_executor& executor, std::optional<int> receive_buffer = std::nullopt)
      : acceptor_(executor) {
    const asio::ip::tcp::endpoint endpoint(loopback_v4(), 0);
    acceptor_.open(endpoint.protocol());
    if (receive_buffer) acceptor_.set_option(asio::socket_base::receive_buffer_size(*receive_buffer));
    acceptor_.bind(endpoint);
    acceptor_.listen();
  }

  asio::ip::tcp::endpoint endpoint() const { return acceptor_.local_endpoint(); }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  asio::awaitable<asio::ip::tcp::socket> accept() { return acceptor_.async_accept(asio::use_awaitable); }

 private:
  asio::ip::tcp::acceptor acceptor_;
};

/// A costream client connected to a raw peer socket.
struct client_and_peer {
  connection client;
  asio::ip::tcp::socket peer;
};

/// Connects a costream client to `listener` and accepts the raw peer. The
/// kernel completes the handshake before accept(), so one after the other works.
inline asio::awaitable<client_and_peer> connect_to(raw_listener& listener, connection_options options = {}) {
  connection client = co_await open_connection(listener.endpoint(), options);
  asio::ip::tcp::socket peer = co_await listener.accept();
  co_return client_and_peer{std::move(client), std::move(peer)};
}

/// Closes a socket with SO_LINGER 0, so the kernel sends RST instead of FIN.
inline void reset(asio::ip::tcp::socket& socket) {
  socket.set_option(asio::socket_base::linger(true, 0));
  socket.close();
}

/// n bytes of deterministic test data (every byte value, newlines included).
inline std::string pattern(std::size_t n, unsigned seed = 0) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + 3 + seed) % 256);
  return s;
}

/// n bytes of text in lines of `line_length` bytes (the newline included).
inline std::string text_lines(std::size_t n, std::size_t line_length = 100) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = (i % line_length == line_length - 1) ? '\n' : static_cast<char>('a' + (i / line_length) % 26);
  return s;
}

/// Awaits `op`; gives up (cancelling it) after `timeout`. Empty when the time ran out.
template <class T>
asio::awaitable<std::optional<T>> within(asio::awaitable<T> op, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
  if (result.index() == 0) co_return std::optional<T>(std::move(std::get<0>(result)));
  co_return std::nullopt;
}

/// Awaits `op`; false when it did not complete within `timeout` (it is cancelled).
inline asio::awaitable<bool> completes_within(asio::awaitable<void> op, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  auto result = co_await (std::move(op) || timer.async_wait(asio::use_awaitable));
  co_return result.index() == 0;
}

/// Polls `condition` every few milliseconds; false if it did not become true within `timeout`.
inline asio::awaitable<bool> eventually(std::function<bool()> condition,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) co_return false;
    timer.expires_after(std::chrono::milliseconds(5));
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return true;
}

/// A client callback that echoes lines until end of stream.
inline asio::awaitable<void> echo_lines(stream_reader reader, stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);
    co_await writer.drain();
  }
}

}  // namespace costream::test

#endif
