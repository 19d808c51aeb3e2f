// costream/open_connection.hpp: open_connection, asyncio's client entry point.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_OPEN_CONNECTION_HPP
#define COSTREAM_OPEN_CONNECTION_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/connect_error.hpp>
#include <costream/connection.hpp>
#include <costream/detail/happy_eyeballs.hpp>
#include <costream/timeout.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace costream {

/// Which address families open_connection and start_server use.
enum class address_family {
  any,   ///< Every address, whatever its family.
  ipv4,  ///< IPv4 addresses only.
  ipv6   ///< IPv6 addresses only.
};

/// Options of open_connection (TCP, and TLS over TCP).
struct connection_options {
  /// The reader's limit (see basic_stream_reader::limit).
  std::size_t limit = COSTREAM_DEFAULT_LIMIT;
  /// Bind the socket to this local address (and port, 0 for any) first.
  std::optional<net::ip::tcp::endpoint> local_address;
  /// Restrict the resolved addresses to one family.
  address_family family = address_family::any;
  /// Set TCP_NODELAY (asyncio does by default).
  bool no_delay = true;
  /// Set SO_KEEPALIVE: the kernel probes an idle connection and reports a
  /// peer that is gone (as server_options::keep_alive). Off by default.
  bool keep_alive = false;
  /// Happy Eyeballs (RFC 8305, asyncio's happy_eyeballs_delay): when set,
  /// the next address is tried after this delay while earlier attempts are
  /// still pending; the first to connect wins, the others are closed.
  /// 250 ms is the RFC's recommendation. Unset: one address after another.
  std::optional<std::chrono::milliseconds> happy_eyeballs_delay;
  /// Reorder addresses so families alternate, this many of the first
  /// family leading (asyncio's interleave). Defaults to 1 when
  /// happy_eyeballs_delay is set, as asyncio does; 0 keeps the resolver's order.
  std::optional<std::size_t> interleave;
  /// Give up connecting after this long (resolving not included): the
  /// attempts are cancelled and closed, and open_connection throws
  /// errc::timed_out (even when some attempts had failed before).
  /// Unset: the system's connect timeout (minutes).
  std::optional<std::chrono::milliseconds> connect_timeout;
};

namespace detail {

inline bool family_matches(address_family family, const net::ip::tcp::endpoint& endpoint) {
  switch (family) {
    case address_family::ipv4: return endpoint.address().is_v4();
    case address_family::ipv6: return endpoint.address().is_v6();
    case address_family::any: break;
  }
  return true;
}

// Opens (and binds) a socket for one attempt.
inline error_code prepare_socket(net::ip::tcp::socket& socket, const net::ip::tcp::endpoint& endpoint,
                                      const connection_options& options) {
  error_code ec;
  socket.open(endpoint.protocol(), ec);
  if (!ec && options.local_address) socket.bind(*options.local_address, ec);
  return ec;
}

// Tries the endpoints in order (staggered with Happy Eyeballs); the first to
// connect wins.
inline net::awaitable<net::ip::tcp::socket> connect_first(std::vector<net::ip::tcp::endpoint> endpoints,
                                                            const connection_options& options) {
  std::erase_if(endpoints, [&](const auto& e) { return !family_matches(options.family, e); });
  const std::size_t interleave = options.interleave.value_or(options.happy_eyeballs_delay ? 1 : 0);
  endpoints = interleave_families(std::move(endpoints), interleave);
  // Without Happy Eyeballs each attempt waits for the previous one to fail:
  // a delay that never passes.
  const auto delay = options.happy_eyeballs_delay ? std::chrono::steady_clock::duration(*options.happy_eyeballs_delay)
                                                  : std::chrono::steady_clock::duration::max();
  auto prepare = [&](net::ip::tcp::socket& s, const net::ip::tcp::endpoint& e) {
    return prepare_socket(s, e, options);
  };
  auto attempts = connect_staggered(std::move(endpoints), delay, prepare);
  std::optional<net::ip::tcp::socket> socket;
  if (options.connect_timeout) {
    socket.emplace(co_await with_timeout(std::move(attempts), *options.connect_timeout));
  } else {
    socket.emplace(co_await std::move(attempts));
  }
  error_code ec;
  if (options.no_delay) socket->set_option(net::ip::tcp::no_delay(true), ec);
  if (options.keep_alive) socket->set_option(net::socket_base::keep_alive(true), ec);
  co_return std::move(*socket);
}

// The addresses of host:port, in the resolver's order.
inline net::awaitable<std::vector<net::ip::tcp::endpoint>> resolve_tcp(std::string host, std::uint16_t port) {
  net::ip::tcp::resolver resolver(co_await net::this_coro::executor);
  auto results = co_await resolver.async_resolve(host, std::to_string(port), net::use_awaitable);
  std::vector<net::ip::tcp::endpoint> endpoints;
  for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  co_return endpoints;
}

inline net::awaitable<connection> open_endpoints(std::vector<net::ip::tcp::endpoint> endpoints,
                                                  connection_options options) {
  auto socket = co_await connect_first(std::move(endpoints), options);
  co_return make_connection(std::move(socket), options.limit);
}

}  // namespace detail

/// Connects to host:port and returns the connection's reader and writer.
/// The host is resolved and its addresses are tried in order, one after
/// another or, with happy_eyeballs_delay, staggered (RFC 8305); the first to
/// connect wins. The connection runs on the awaiting coroutine's executor.
///
/// @param host the name or address to connect to.
/// @param port the port.
/// @param options the reader's limit, local address, address family, socket
/// options, Happy Eyeballs, connect timeout.
/// @return an awaitable of the connection's reader and writer.
/// @throws connect_error (a costream::system_error) when every address failed: it
/// lists each attempt (endpoint and error, in the order tried) and its code()
/// is the first attempt's error, which is the error of them all when they all
/// failed alike (e.g. connection_refused).
/// @throws costream::system_error with the
/// resolver's error when the host does not resolve; errc::timed_out when
/// connect_timeout passes; operation_aborted when cancelled. Through
/// with_error_code, `ec` is that same code.
[[nodiscard]] inline net::awaitable<connection> open_connection(std::string host, std::uint16_t port,
                                                                 connection_options options = {}) {
  auto endpoints = co_await detail::resolve_tcp(std::move(host), port);
  co_return co_await detail::open_endpoints(std::move(endpoints), std::move(options));
}

/// Connects to one endpoint, without name resolution.
///
/// @param endpoint the address and port to connect to.
/// @param options as for open_connection(host, port, options).
/// @return an awaitable of the connection's reader and writer.
/// @throws connect_error when the attempt fails; costream::system_error
/// errc::timed_out when connect_timeout passes, operation_aborted when
/// cancelled.
// Not a coroutine itself: g++ 12 cannot copy an endpoint into a coroutine
// frame ("array used as initializer").
[[nodiscard]] inline net::awaitable<connection> open_connection(const net::ip::tcp::endpoint& endpoint,
                                                                 connection_options options = {}) {
  return detail::open_endpoints({endpoint}, std::move(options));
}

/// Connects to the first of several endpoints to answer, as for a host name
/// that resolves to them (in this order).
///
/// @param endpoints the addresses to try, in order (staggered with
/// happy_eyeballs_delay).
/// @param options as for open_connection(host, port, options).
/// @return an awaitable of the connection's reader and writer.
/// @throws connect_error when every attempt failed; costream::system_error
/// host_not_found when no endpoint is of options.family, errc::timed_out
/// when connect_timeout passes, operation_aborted when cancelled.
[[nodiscard]] inline net::awaitable<connection> open_connection(std::vector<net::ip::tcp::endpoint> endpoints,
                                                                 connection_options options = {}) {
  return detail::open_endpoints(std::move(endpoints), std::move(options));
}

}  // namespace costream

#endif
