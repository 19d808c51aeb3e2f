// costream/tls/server.hpp: start_server and start_unix_server over TLS.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TLS_SERVER_HPP
#define COSTREAM_TLS_SERVER_HPP

#include <costream/tls/handshake.hpp>
#include <costream/tls/options.hpp>
#include <costream/tls/stream.hpp>
#include <costream/start_server.hpp>
#if defined(COSTREAM_HAS_LOCAL_SOCKETS)
#include <costream/unix.hpp>
#endif

#include <cstdint>
#include <string>
#include <utility>

namespace costream {

/// Starts a TLS server on host:port, as start_server does; each accepted
/// connection runs the TLS handshake (bounded by tls.handshake_timeout) on
/// its own strand before `callback(tls_stream_reader, tls_stream_writer)`
/// runs. A failed handshake (a client that refuses the certificate, speaks
/// plain TCP, or times out) goes to the server's error handler and never
/// stops the server; a client certificate that the context's verify mode
/// asks for and verification refuses goes there as certificate_verify_error.
///
/// @tparam Callback callable as `callback(tls_stream_reader,
/// tls_stream_writer)`, a coroutine or a plain function (see start_server).
/// @param callback run for each connection, once its handshake is done.
/// @param host the name or address to listen on; "" for every interface.
/// @param port the port; 0 picks a free one.
/// @param options as for the plain start_server.
/// @param tls the context (the server's certificate chain and key) and the
/// handshake_timeout, shutdown_timeout and ALPN protocols.
/// @return an awaitable of the server, listening (and serving, unless
/// options.start_serving is false).
/// @throws costream::system_error as the plain start_server.
///
/// @par Example
/// @code
/// costream::net::ssl::context ctx(costream::net::ssl::context::tls_server);
/// ctx.use_certificate_chain_file("server.pem");
/// ctx.use_private_key_file("server.key", costream::net::ssl::context::pem);
/// auto server = co_await start_server(echo, "127.0.0.1", 8443, {}, ctx);
/// @endcode
template <class Callback>
[[nodiscard]] net::awaitable<tls_server> start_server(Callback callback, std::string host, std::uint16_t port,
                                                       server_options options, tls_options tls) {
  return detail::serve<net::ip::tcp, tls_stream>(std::move(callback), std::move(options),
                                                  detail::listen_hosts{{std::move(host)}, port},
                                                  detail::tls_acceptor<net::ip::tcp::socket>(std::move(tls)));
}

/// Starts a TLS server on a listening socket made elsewhere (see
/// listening_socket and the plain start_server on one); each connection's
/// handshake is as above. Throws as both.
///
/// @tparam Callback as for start_server(callback, host, port, options, tls).
/// @param callback run for each connection, once its handshake is done.
/// @param socket the descriptor to serve from; the server owns it once
/// started.
/// @param options as for the plain start_server on a listening socket.
/// @param tls as for start_server(callback, host, port, options, tls).
/// @return an awaitable of the server, listening on the socket.
/// @throws std::invalid_argument as the plain start_server on a listening
/// socket.
/// @throws costream::system_error as the plain start_server on a listening
/// socket.
template <class Callback>
[[nodiscard]] net::awaitable<tls_server> start_server(Callback callback, listening_socket socket,
                                                       server_options options, tls_options tls) {
  return detail::serve<net::ip::tcp, tls_stream>(std::move(callback), std::move(options),
                                                  detail::listen_adopted{socket},
                                                  detail::tls_acceptor<net::ip::tcp::socket>(std::move(tls)));
}

#if defined(COSTREAM_HAS_LOCAL_SOCKETS)

/// Starts a TLS server on the Unix socket at `path`, as start_unix_server
/// does, with each connection's handshake as in the TLS start_server.
///
/// @tparam Callback callable as `callback(unix_tls_stream_reader,
/// unix_tls_stream_writer)`, a coroutine or a plain function.
/// @param callback run for each connection, once its handshake is done.
/// @param path the socket's path, or a NUL byte and an abstract name.
/// @param options as for the plain start_unix_server.
/// @param tls as for start_server(callback, host, port, options, tls).
/// @return an awaitable of the server, listening (and serving, unless
/// options.start_serving is false).
/// @throws costream::system_error as the plain start_unix_server.
template <class Callback>
[[nodiscard]] net::awaitable<unix_tls_server> start_unix_server(Callback callback, std::string path,
                                                                 unix_server_options options, tls_options tls) {
  return detail::serve<net::local::stream_protocol, unix_tls_stream>(
      std::move(callback), std::move(options), detail::listen_unix_path{std::move(path)},
      detail::tls_acceptor<net::local::stream_protocol::socket>(std::move(tls)));
}

/// Starts a TLS server on a listening Unix socket made elsewhere (see
/// listening_socket and the plain start_unix_server on one).
///
/// @tparam Callback as for start_unix_server(callback, path, options, tls).
/// @param callback run for each connection, once its handshake is done.
/// @param socket the descriptor to serve from; the server owns it once
/// started.
/// @param options as for the plain start_unix_server on a listening socket.
/// @param tls as for start_server(callback, host, port, options, tls).
/// @return an awaitable of the server, listening on the socket.
/// @throws std::invalid_argument as the plain start_unix_server on a
/// listening socket.
/// @throws costream::system_error as the plain start_unix_server on a listening
/// socket.
template <class Callback>
[[nodiscard]] net::awaitable<unix_tls_server> start_unix_server(Callback callback, listening_socket socket,
                                                                 unix_server_options options, tls_options tls) {
  return detail::serve<net::local::stream_protocol, unix_tls_stream>(
      std::move(callback), std::move(options), detail::listen_adopted{socket},
      detail::tls_acceptor<net::local::stream_protocol::socket>(std::move(tls)));
}

#endif

}  // namespace costream

#endif
