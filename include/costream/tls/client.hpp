// costream/tls/client.hpp: open_connection and open_unix_connection over TLS.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TLS_CLIENT_HPP
#define COSTREAM_TLS_CLIENT_HPP

#include <costream/tls/handshake.hpp>
#include <costream/tls/options.hpp>
#include <costream/tls/stream.hpp>
#include <costream/open_connection.hpp>
#if defined(COSTREAM_HAS_LOCAL_SOCKETS)
#include <costream/unix.hpp>
#endif

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace costream {

namespace detail {

inline net::awaitable<tls_connection> open_tls_endpoints(std::vector<net::ip::tcp::endpoint> endpoints,
                                                          connection_options options, shared_tls_options tls,
                                                          std::string hostname) {
  auto socket = co_await connect_first(std::move(endpoints), options);
  auto protocol = co_await tls_protocol(std::move(socket), tls_role::client, *tls, hostname, options.limit);
  co_return connection_of(protocol);
}

inline net::awaitable<tls_connection> open_tls_host(std::string host, std::uint16_t port, connection_options options,
                                                     shared_tls_options tls) {
  auto endpoints = co_await resolve_tcp(host, port);
  co_return co_await open_tls_endpoints(std::move(endpoints), std::move(options), std::move(tls), std::move(host));
}

}  // namespace detail

/// Connects to host:port as open_connection does, then runs the TLS
/// handshake as a client and returns the connection's reader and writer.
/// SNI is host (or tls.server_hostname); the server's certificate is
/// verified against the context's trusted CAs and that name unless
/// tls.verify_peer is false.
///
/// The connection: can_write_eof() is false (TLS has no half-close);
/// close() sends close_notify after the buffer is flushed and waits for the
/// peer's (tls.shutdown_timeout); end of stream is the peer's close_notify,
/// and a peer that closes its socket without one is reported to the reader
/// as Asio's ssl::error::stream_truncated.
///
/// @param host the name or address to connect to; also the name verified
/// and sent as SNI unless tls.server_hostname is set.
/// @param port the port.
/// @param options as for the plain open_connection.
/// @param tls the context, server_hostname, verify_peer, timeouts and ALPN
/// protocols.
/// @return an awaitable of the connection's reader and writer, the
/// handshake done.
/// @throws connect_error when every address failed, as the plain
/// open_connection.
/// @throws certificate_verify_error (code
/// in tls_verify_category(), e.g. tls_verify_errc::hostname_mismatch) when
/// the server's certificate is refused.
/// @throws costream::system_error what the plain open_connection throws besides
/// (resolving, connect_timeout, operation_aborted); errc::timed_out
/// when the handshake outlasts tls.handshake_timeout; Asio's SSL category
/// for other handshake failures.
/// @throws std::invalid_argument an ALPN protocol name that is empty or
/// longer than 255 bytes.
///
/// @par Example
/// @code
/// costream::net::ssl::context ctx(costream::net::ssl::context::tls_client);
/// ctx.set_default_verify_paths();
/// auto [reader, writer] = co_await open_connection("example.com", 443, {}, ctx);
/// @endcode
[[nodiscard]] inline net::awaitable<tls_connection> open_connection(std::string host, std::uint16_t port,
                                                                     connection_options options, tls_options tls) {
  return detail::open_tls_host(std::move(host), port, std::move(options),
                               std::make_shared<const tls_options>(std::move(tls)));
}

/// Connects to one endpoint over TLS. The name verified and sent as SNI is
/// tls.server_hostname, else the endpoint's IP address (checked against the
/// certificate's IP addresses, never sent as SNI).
///
/// @param endpoint the address and port to connect to.
/// @param options as for the plain open_connection.
/// @param tls as for open_connection(host, port, options, tls).
/// @return an awaitable of the connection's reader and writer, the
/// handshake done.
/// @throws connect_error when the attempt fails.
/// @throws certificate_verify_error as open_connection(host, port, options, tls).
/// @throws costream::system_error as open_connection(host, port, options, tls).
/// @throws std::invalid_argument as open_connection(host, port, options, tls).
// Not a coroutine itself: g++ 12 cannot copy an endpoint into a coroutine frame.
[[nodiscard]] inline net::awaitable<tls_connection> open_connection(const net::ip::tcp::endpoint& endpoint,
                                                                     connection_options options, tls_options tls) {
  return detail::open_tls_endpoints({endpoint}, std::move(options), std::make_shared<const tls_options>(std::move(tls)),
                                    endpoint.address().to_string());
}

#if defined(COSTREAM_HAS_LOCAL_SOCKETS)

namespace detail {

inline net::awaitable<unix_tls_connection> open_unix_tls(std::string path, unix_connection_options options,
                                                          shared_tls_options tls) {
  net::local::stream_protocol::socket socket(co_await net::this_coro::executor);
  co_await socket.async_connect(net::local::stream_protocol::endpoint(path), net::use_awaitable);
  const std::string no_hostname;
  auto protocol = co_await tls_protocol(std::move(socket), tls_role::client, *tls, no_hostname, options.limit);
  co_return connection_of(protocol);
}

}  // namespace detail

/// Connects to the Unix socket at `path` and runs the TLS handshake as a
/// client. There is no host name: with verify_peer (the default) set
/// tls.server_hostname to the name the server's certificate must carry.
///
/// @param path the socket's path, or a NUL byte and an abstract name.
/// @param options the reader's limit.
/// @param tls as for open_connection(host, port, options, tls).
/// @return an awaitable of the connection's reader and writer, the
/// handshake done.
/// @throws costream::system_error as open_unix_connection and the TLS
/// open_connection.
/// @throws certificate_verify_error as the TLS open_connection.
/// @throws std::invalid_argument as the TLS open_connection, and with
/// verify_peer and no tls.server_hostname.
[[nodiscard]] inline net::awaitable<unix_tls_connection> open_unix_connection(std::string path,
                                                                               unix_connection_options options,
                                                                               tls_options tls) {
  return detail::open_unix_tls(std::move(path), options, std::make_shared<const tls_options>(std::move(tls)));
}

#endif

}  // namespace costream

#endif
