// costream/tls/options.hpp: how a connection does TLS (tls_options) and which side of the handshake it plays.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TLS_OPTIONS_HPP
#define COSTREAM_TLS_OPTIONS_HPP

#include <costream/tls/stream.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace costream {

/// Which side of the TLS handshake a connection plays (start_tls).
enum class tls_role {
  client,  ///< Starts the handshake; verifies the server (see tls_options::verify_peer).
  server   ///< Answers the handshake with the context's certificate.
};

/// How a connection does TLS (asyncio's ssl, server_hostname,
/// ssl_handshake_timeout and ssl_shutdown_timeout arguments). Made from the
/// context (implicitly, so a context can be passed where tls_options are
/// expected); the other members keep their defaults unless set:
///
/// @code
/// costream::tls_options tls(ctx);
/// tls.alpn_protocols = {"h2", "http/1.1"};
/// @endcode
// A constructor rather than an aggregate: g++ 12 miscompiles an aggregate
// holding std::string members that is built as a temporary in a coroutine
// (e.g. `co_await open_connection(..., {.context = ctx})`): its strings end
// up pointing into the coroutine frame, and freeing them crashes.
struct tls_options {
  /// Options with this context and every other member at its default.
  ///
  /// @param context the OpenSSL context; see the member for how long it
  /// must live.
  tls_options(net::ssl::context& context) noexcept : context(context) {}  // NOLINT(google-explicit-constructor)

  /// The OpenSSL context: certificates, trusted CAs, protocol versions,
  /// ciphers. A client trusts what the context trusts: load a CA
  /// (load_verify_file) or the system's (set_default_verify_paths). A server
  /// needs its certificate chain and key; it asks for client certificates
  /// only if the context's verify mode says so. The context must outlive
  /// the server, and every connection until its handshake is done.
  std::reference_wrapper<net::ssl::context> context;
  /// Client: the name sent as SNI (unless it is an IP address, as RFC 6066
  /// requires) and checked against the server's certificate. Empty: the host
  /// given to open_connection (start_tls: the peer's IP address). Servers
  /// ignore it.
  std::string server_hostname;
  /// Client: verify the server's certificate chain against the context's
  /// trusted CAs, and its name (or IP address) against server_hostname. A
  /// failure throws certificate_verify_error. Turning it off is explicit
  /// (false): any certificate is then accepted. Servers ignore it: their
  /// context's verify mode decides about client certificates (verify_peer
  /// asks for one, verify_fail_if_no_peer_cert requires it), and a client
  /// certificate refused goes to the server's error handler as
  /// certificate_verify_error.
  bool verify_peer = true;
  /// The handshake must complete within this time (asyncio's default, 60 s),
  /// else it fails with errc::timed_out and the socket is closed.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(60);
  /// close() sends close_notify and waits this long for the peer's (asyncio's
  /// default, 30 s), then closes the socket; wait_closed() then reports
  /// errc::timed_out.
  std::chrono::milliseconds shutdown_timeout = default_shutdown_timeout;
  /// ALPN protocols, most preferred first (e.g.\ {"h2", "http/1.1"}). A
  /// client offers them; a server picks the first of its own list the
  /// client offered, and negotiates none when there is no overlap (as
  /// Python's ssl). A server with ALPN protocols installs costream's
  /// selection callback on its context.
  std::vector<std::string> alpn_protocols;
};

namespace detail {

// The public entry points are plain functions that move their tls_options
// into one shared copy for the coroutines behind them (and, for servers,
// every handshake).
using shared_tls_options = std::shared_ptr<const tls_options>;

}  // namespace detail

}  // namespace costream

#endif
