// costream/tls.hpp: TLS over Asio's ssl::stream (OpenSSL): open_connection, start_server, start_tls.
// SPDX-License-Identifier: BSL-1.0
//
// Not included by costream.hpp: only code that includes this header needs
// OpenSSL (link costream::tls in CMake).
#ifndef COSTREAM_TLS_HPP
#define COSTREAM_TLS_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/connection.hpp>
#include <costream/error.hpp>
#include <costream/open_connection.hpp>
#include <costream/server.hpp>
#include <costream/start_server.hpp>
#include <costream/stream_protocol.hpp>
#include <costream/stream_reader.hpp>
#include <costream/stream_writer.hpp>
#if defined(COSTREAM_HAS_LOCAL_SOCKETS)
#include <costream/unix.hpp>
#endif

#include <asio/ssl.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace costream {

/// A TLS connection's stream: Asio's ssl::stream over a TCP socket.
using tls_stream = net::ssl::stream<net::ip::tcp::socket>;
using tls_stream_reader = basic_stream_reader<tls_stream>;
using tls_stream_writer = basic_stream_writer<tls_stream>;
using tls_connection = basic_connection<tls_stream>;
/// A TLS server, as start_server(callback, host, port, server_options, tls_options) returns it.
using tls_server = basic_server<net::ip::tcp, tls_stream>;

#if defined(COSTREAM_HAS_LOCAL_SOCKETS)
using unix_tls_stream = net::ssl::stream<net::local::stream_protocol::socket>;
using unix_tls_stream_reader = basic_stream_reader<unix_tls_stream>;
using unix_tls_stream_writer = basic_stream_writer<unix_tls_stream>;
using unix_tls_connection = basic_connection<unix_tls_stream>;
using unix_tls_server = basic_server<net::local::stream_protocol, unix_tls_stream>;
#endif

/// Which side of the TLS handshake a connection plays (start_tls).
enum class tls_role { client, server };

/// How a connection does TLS (asyncio's ssl, server_hostname,
/// ssl_handshake_timeout and ssl_shutdown_timeout arguments). Made from the
/// context (implicitly, so a context can be passed where tls_options are
/// expected); the other members keep their defaults unless set:
///
///   costream::tls_options tls(ctx);
///   tls.alpn_protocols = {"h2", "http/1.1"};
// A constructor rather than an aggregate: g++ 12 miscompiles an aggregate
// holding std::string members that is built as a temporary in a coroutine
// (e.g. `co_await open_connection(..., {.context = ctx})`): its strings end
// up pointing into the coroutine frame, and freeing them crashes.
struct tls_options {
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
  /// (false): any certificate is then accepted. Servers ignore it (their
  /// context's verify mode decides about client certificates).
  bool verify_peer = true;
  /// The handshake must complete within this time (asyncio's default, 60 s),
  /// else it fails with errc::timed_out and the socket is closed.
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(60);
  /// close() sends close_notify and waits this long for the peer's (asyncio's
  /// default, 30 s), then closes the socket; wait_closed() then reports
  /// errc::timed_out.
  std::chrono::milliseconds shutdown_timeout = default_shutdown_timeout;
  /// ALPN protocols, most preferred first (e.g. {"h2", "http/1.1"}). A
  /// client offers them; a server picks the first of its own list the
  /// client offered, and negotiates none when there is no overlap (as
  /// Python's ssl). A server with ALPN protocols installs costream's
  /// selection callback on its context.
  std::vector<std::string> alpn_protocols;
};

// ---- certificate verification errors --------------------------------------

/// Some of OpenSSL's certificate verification results (X509_V_ERR_*), the
/// values of tls_verify_category(). Any other X509_V_ERR_* value can be
/// reported too; compare with error_code(value, tls_verify_category()).
enum class tls_verify_errc {
  /// The certificate's notAfter is in the past.
  certificate_has_expired = X509_V_ERR_CERT_HAS_EXPIRED,
  /// The certificate's notBefore is in the future.
  certificate_not_yet_valid = X509_V_ERR_CERT_NOT_YET_VALID,
  /// The certificate does not name server_hostname.
  hostname_mismatch = X509_V_ERR_HOSTNAME_MISMATCH,
  /// The certificate does not name the IP address given as server_hostname.
  ip_address_mismatch = X509_V_ERR_IP_ADDRESS_MISMATCH,
  /// The issuer is not among the trusted CAs (an unknown CA).
  unable_to_get_issuer_certificate_locally = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
  /// A self-signed certificate that is not trusted.
  self_signed_certificate = X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
  /// The chain ends in a self-signed CA that is not trusted.
  self_signed_certificate_in_chain = X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
};

namespace detail {

class tls_verify_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "costream.tls.verify"; }
  std::string message(int value) const override { return ::X509_verify_cert_error_string(value); }
};

}  // namespace detail

/// The category of OpenSSL's certificate verification results (the values
/// are X509_V_ERR_*; the messages are OpenSSL's).
inline const std::error_category& tls_verify_category() noexcept {
  static const detail::tls_verify_category_impl category;
  return category;
}

inline error_code make_error_code(tls_verify_errc e) noexcept {
  return {static_cast<int>(e), tls_verify_category()};
}

/// The peer's certificate failed verification (Python's
/// SSLCertVerificationError). code() is in tls_verify_category():
/// e.code() == tls_verify_errc::certificate_has_expired, hostname_mismatch,
/// unable_to_get_issuer_certificate_locally, ...
class certificate_verify_error : public std::system_error {
 public:
  explicit certificate_verify_error(long verify_code)
      : std::system_error(static_cast<int>(verify_code), tls_verify_category(),
                          "costream: TLS handshake: certificate verify failed") {}

  /// OpenSSL's verification result (X509_V_ERR_*).
  long verify_code() const noexcept { return code().value(); }
  /// OpenSSL's description of it, e.g. "certificate has expired".
  std::string verify_message() const { return code().message(); }
};

}  // namespace costream

template <>
struct std::is_error_code_enum<costream::tls_verify_errc> : std::true_type {};

namespace costream {

// ---- what a TLS connection negotiated ---------------------------------------

namespace detail {

struct x509_deleter {
  void operator()(X509* x) const noexcept { ::X509_free(x); }
};

template <class Writer>
SSL* ssl_of(const Writer& writer) noexcept {
  return writer.stream().native_handle();
}

}  // namespace detail

/// An owned OpenSSL certificate.
using x509_ptr = std::unique_ptr<X509, detail::x509_deleter>;

/// The peer's certificate (get_extra_info("peercert") in binary form); null
/// when the peer sent none (a client without a certificate). Inspect it with
/// OpenSSL's X509_* functions. writer.stream().native_handle() is the SSL*
/// for anything else.
template <class Next>
x509_ptr peer_certificate(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  return x509_ptr(::SSL_get1_peer_certificate(detail::ssl_of(writer)));
#else
  return x509_ptr(::SSL_get_peer_certificate(detail::ssl_of(writer)));
#endif
}

/// The peer's certificate in PEM form; empty when the peer sent none.
template <class Next>
std::string peer_certificate_pem(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
  x509_ptr cert = peer_certificate(writer);
  if (!cert) return {};
  std::unique_ptr<BIO, decltype(&::BIO_free)> bio(::BIO_new(::BIO_s_mem()), &::BIO_free);
  if (!bio || ::PEM_write_bio_X509(bio.get(), cert.get()) != 1) throw std::bad_alloc();
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

/// The negotiated cipher suite's name (OpenSSL's, e.g. "TLS_AES_256_GCM_SHA384").
template <class Next>
std::string cipher(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
  const char* name = ::SSL_get_cipher_name(detail::ssl_of(writer));
  return name ? name : "";
}

/// The negotiated protocol version, e.g. "TLSv1.3" (Python's version()).
template <class Next>
std::string tls_version(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
  return ::SSL_get_version(detail::ssl_of(writer));
}

/// The ALPN protocol both sides agreed on; empty when none was negotiated
/// (Python's selected_alpn_protocol()).
template <class Next>
std::string selected_alpn_protocol(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  ::SSL_get0_alpn_selected(detail::ssl_of(writer), &data, &size);
  return data ? std::string(reinterpret_cast<const char*>(data), size) : std::string();
}

// ---- the handshake -----------------------------------------------------------

namespace detail {

[[noreturn]] inline void throw_openssl_error(const char* what) {
  throw std::system_error(error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()), what);
}

// ALPN's wire format: each name preceded by its length.
inline std::string alpn_wire_format(const std::vector<std::string>& protocols) {
  std::string wire;
  for (const auto& p : protocols) {
    if (p.empty() || p.size() > 255) throw std::invalid_argument("costream: an ALPN protocol name has 1 to 255 bytes");
    wire += static_cast<char>(p.size());
    wire += p;
  }
  return wire;
}

// A server's ALPN list is handed to the selection callback through the
// SSL object for the duration of the handshake (OpenSSL copies the choice).
inline int alpn_ex_index() {
  static const int index = ::SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

inline int select_alpn(SSL* ssl, const unsigned char** out, unsigned char* out_size, const unsigned char* in,
                       unsigned int in_size, void*) {
  const auto* wire = static_cast<const std::string*>(::SSL_get_ex_data(ssl, alpn_ex_index()));
  if (wire == nullptr || wire->empty()) return SSL_TLSEXT_ERR_NOACK;
  unsigned char* selected = nullptr;
  if (::SSL_select_next_proto(&selected, out_size, reinterpret_cast<const unsigned char*>(wire->data()),
                              static_cast<unsigned int>(wire->size()), in, in_size) != OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_NOACK;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

inline void prepare_server_context(const tls_options& options) {
  if (!options.alpn_protocols.empty()) {
    (void)alpn_ex_index();
    ::SSL_CTX_set_alpn_select_cb(options.context.get().native_handle(), &select_alpn, nullptr);
  }
}

// Shared by a handshake and its deadline's timer, whose handler may run
// after the handshake's frame is gone.
struct handshake_deadline {
  bool finished = false;
  bool expired = false;
};

/// Configures `stream` for its role (SNI, verification, ALPN) and runs the
/// handshake under options.handshake_timeout. Throws certificate_verify_error,
/// std::system_error(errc::timed_out), or the handshake's error (Asio's SSL
/// category, or the socket's).
template <class Next>
net::awaitable<void> tls_handshake(net::ssl::stream<Next>& stream, tls_role role, const tls_options& options,
                                    const std::string& default_hostname) {
  SSL* ssl = stream.native_handle();
  std::string alpn = alpn_wire_format(options.alpn_protocols);
  bool verifying = false;
  if (role == tls_role::client) {
    const std::string& host = options.server_hostname.empty() ? default_hostname : options.server_hostname;
    error_code not_an_address;
    (void)net::ip::make_address(host, not_an_address);
    const bool is_address = !not_an_address;
    if (!host.empty() && !is_address && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1)
      throw_openssl_error("costream: TLS: cannot set the server name (SNI)");
    if (options.verify_peer) {
      if (host.empty()) throw std::invalid_argument("costream: TLS: verifying the server needs a server_hostname");
      stream.set_verify_mode(net::ssl::verify_peer);
      const int set = is_address ? ::X509_VERIFY_PARAM_set1_ip_asc(::SSL_get0_param(ssl), host.c_str())
                                 : ::SSL_set1_host(ssl, host.c_str());
      if (set != 1) throw_openssl_error("costream: TLS: cannot set the name to verify");
      verifying = true;
    } else {
      stream.set_verify_mode(net::ssl::verify_none);
    }
    if (!alpn.empty() &&
        ::SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn.data()),
                              static_cast<unsigned int>(alpn.size())) != 0)
      throw_openssl_error("costream: TLS: cannot set the ALPN protocols");
  } else if (!alpn.empty()) {
    ::SSL_set_ex_data(ssl, alpn_ex_index(), &alpn);
  }

  auto deadline = std::make_shared<handshake_deadline>();
  net::steady_timer timer(stream.get_executor(), options.handshake_timeout);
  timer.async_wait([deadline, &stream](const error_code& ec) {
    // The stream is touched only while the handshake still runs (and so
    // while its frame, which owns the stream, is alive).
    if (ec || deadline->finished) return;
    deadline->expired = true;
    error_code ignored;
    stream.lowest_layer().close(ignored);
  });
  auto [ec] = co_await stream.async_handshake(
      role == tls_role::client ? net::ssl::stream_base::client : net::ssl::stream_base::server, compat::use_tuple);
  deadline->finished = true;
  timer.cancel();
  if (role == tls_role::server) ::SSL_set_ex_data(ssl, alpn_ex_index(), nullptr);
  if (!ec) co_return;
  if (deadline->expired) throw std::system_error(make_error_code(errc::timed_out), "costream: TLS handshake");
  if (verifying) {
    const long result = ::SSL_get_verify_result(ssl);
    if (result != X509_V_OK) throw certificate_verify_error(result);
  }
  throw std::system_error(ec, "costream: TLS handshake");
}

/// Wraps a connected socket in TLS, runs the handshake and returns the
/// connection's protocol. `options` and `default_hostname` must outlive the
/// returned awaitable (the callers' frames hold them).
// The public entry points are plain functions that move their tls_options
// into one shared copy for the coroutines behind them (and, for servers,
// every handshake).
template <class Socket>
net::awaitable<std::shared_ptr<basic_stream_protocol<net::ssl::stream<Socket>>>> tls_protocol(
    Socket socket, tls_role role, const tls_options& options, const std::string& default_hostname,
    std::size_t limit, std::string_view received = {}) {
  net::ssl::stream<Socket> stream(std::move(socket), options.context.get());
  co_await tls_handshake(stream, role, options, default_hostname);
  auto protocol = basic_stream_protocol<net::ssl::stream<Socket>>::create(std::move(stream), limit, received);
  protocol->set_shutdown_timeout(options.shutdown_timeout);
  co_return protocol;
}

template <class Stream>
basic_connection<Stream> connection_of(const std::shared_ptr<basic_stream_protocol<Stream>>& protocol) {
  return {basic_stream_reader<Stream>(protocol), basic_stream_writer<Stream>(protocol)};
}

// A server's upgrade: the handshake of each accepted socket, made with the
// readers' limit. The lambda, and the options it holds, live in the
// server's state, which every handshake holds.
template <class Socket>
std::function<net::awaitable<std::shared_ptr<basic_stream_protocol<net::ssl::stream<Socket>>>>(Socket, std::size_t)>
tls_acceptor(tls_options options) {
  prepare_server_context(options);
  return [options = std::move(options), no_hostname = std::string()](Socket socket, std::size_t limit) {
    return tls_protocol(std::move(socket), tls_role::server, options, no_hostname, limit);
  };
}

using shared_tls_options = std::shared_ptr<const tls_options>;

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

// ---- clients and servers -----------------------------------------------------

/// Connects to host:port as open_connection does, then runs the TLS
/// handshake as a client and returns the connection's reader and writer.
/// SNI is host (or tls.server_hostname); the server's certificate is
/// verified against the context's trusted CAs and that name unless
/// tls.verify_peer is false.
///
/// Throws what open_connection throws, and: certificate_verify_error (code
/// in tls_verify_category(), e.g. tls_verify_errc::hostname_mismatch) when
/// the server's certificate is refused; std::system_error(errc::timed_out)
/// when the handshake outlasts tls.handshake_timeout; std::system_error
/// with Asio's SSL category for other handshake failures.
///
/// The connection: can_write_eof() is false (TLS has no half-close);
/// close() sends close_notify after the buffer is flushed and waits for the
/// peer's (tls.shutdown_timeout); end of stream is the peer's close_notify,
/// and a peer that closes its socket without one is reported to the reader
/// as Asio's ssl::error::stream_truncated.
///
/// Example:
///   costream::net::ssl::context ctx(costream::net::ssl::context::tls_client);
///   ctx.set_default_verify_paths();
///   auto [reader, writer] = co_await open_connection("example.com", 443, {}, ctx);
[[nodiscard]] inline net::awaitable<tls_connection> open_connection(std::string host, std::uint16_t port,
                                                                     connection_options options, tls_options tls) {
  return detail::open_tls_host(std::move(host), port, std::move(options),
                               std::make_shared<const tls_options>(std::move(tls)));
}

/// Connects to one endpoint over TLS. The name verified and sent as SNI is
/// tls.server_hostname, else the endpoint's IP address (checked against the
/// certificate's IP addresses, never sent as SNI).
// Not a coroutine itself: g++ 12 cannot copy an endpoint into a coroutine frame.
[[nodiscard]] inline net::awaitable<tls_connection> open_connection(const net::ip::tcp::endpoint& endpoint,
                                                                     connection_options options, tls_options tls) {
  return detail::open_tls_endpoints({endpoint}, std::move(options), std::make_shared<const tls_options>(std::move(tls)),
                                    endpoint.address().to_string());
}

/// Starts a TLS server on host:port, as start_server does; each accepted
/// connection runs the TLS handshake (bounded by tls.handshake_timeout) on
/// its own strand before `callback(tls_stream_reader, tls_stream_writer)`
/// runs. A failed handshake (a client that refuses the certificate, speaks
/// plain TCP, or times out) goes to the server's error handler and never
/// stops the server.
///
/// Example:
///   costream::net::ssl::context ctx(costream::net::ssl::context::tls_server);
///   ctx.use_certificate_chain_file("server.pem");
///   ctx.use_private_key_file("server.key", costream::net::ssl::context::pem);
///   auto server = co_await start_server(echo, "127.0.0.1", 8443, {}, ctx);
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
template <class Callback>
[[nodiscard]] net::awaitable<tls_server> start_server(Callback callback, listening_socket socket,
                                                       server_options options, tls_options tls) {
  return detail::serve<net::ip::tcp, tls_stream>(std::move(callback), std::move(options),
                                                  detail::listen_adopted{socket},
                                                  detail::tls_acceptor<net::ip::tcp::socket>(std::move(tls)));
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
/// Throws as open_unix_connection and the TLS open_connection.
[[nodiscard]] inline net::awaitable<unix_tls_connection> open_unix_connection(std::string path,
                                                                               unix_connection_options options,
                                                                               tls_options tls) {
  return detail::open_unix_tls(std::move(path), options, std::make_shared<const tls_options>(std::move(tls)));
}

/// Starts a TLS server on the Unix socket at `path`, as start_unix_server
/// does, with each connection's handshake as in the TLS start_server.
template <class Callback>
[[nodiscard]] net::awaitable<unix_tls_server> start_unix_server(Callback callback, std::string path,
                                                                 unix_server_options options, tls_options tls) {
  return detail::serve<net::local::stream_protocol, unix_tls_stream>(
      std::move(callback), std::move(options), detail::listen_unix_path{std::move(path)},
      detail::tls_acceptor<net::local::stream_protocol::socket>(std::move(tls)));
}

/// Starts a TLS server on a listening Unix socket made elsewhere (see
/// listening_socket and the plain start_unix_server on one).
template <class Callback>
[[nodiscard]] net::awaitable<unix_tls_server> start_unix_server(Callback callback, listening_socket socket,
                                                                 unix_server_options options, tls_options tls) {
  return detail::serve<net::local::stream_protocol, unix_tls_stream>(
      std::move(callback), std::move(options), detail::listen_adopted{socket},
      detail::tls_acceptor<net::local::stream_protocol::socket>(std::move(tls)));
}

#endif

// ---- upgrading a plain connection ---------------------------------------------

namespace detail {

template <class Socket>
net::awaitable<basic_connection<net::ssl::stream<Socket>>> upgrade_to_tls(basic_stream_reader<Socket> reader,
                                                                             basic_stream_writer<Socket> writer,
                                                                             shared_tls_options tls, tls_role role) {
  auto& protocol = writer.protocol();
  if (reader.protocol() != &protocol)
    throw std::invalid_argument("costream: start_tls: the reader and the writer are of different connections");
  if (protocol.is_closing()) throw std::system_error(make_error_code(errc::writer_closed), "costream: start_tls");
  if (protocol.reader_core()->waiting())
    throw std::system_error(make_error_code(errc::concurrent_read), "costream: start_tls");
  // Reading stops first: bytes the peer sends once it has seen the last
  // plain-text reply (its handshake) must reach TLS, not the plain reader.
  co_await protocol_access::stop_reading(reader.protocol()->shared_from_this());
  // Everything written before the upgrade goes out, in plain text, first.
  protocol.set_write_buffer_limits(0, 0);
  co_await writer.drain();
  if (protocol.reader_core()->waiting())
    throw std::system_error(make_error_code(errc::concurrent_read), "costream: start_tls");

  std::string buffered(reader.buffered());
  std::string peer_address;
  if constexpr (std::is_same_v<Socket, net::ip::tcp::socket>) {
    error_code ec;
    auto endpoint = protocol.stream().remote_endpoint(ec);
    if (!ec) peer_address = endpoint.address().to_string();
  }
  if (role == tls_role::server) prepare_server_context(*tls);
  const std::size_t limit = reader.limit();
  Socket socket = protocol_access::release_stream(protocol);
  auto upgraded = co_await tls_protocol(std::move(socket), role, *tls, peer_address, limit, buffered);
  co_return connection_of(upgraded);
}

}  // namespace detail

/// Upgrades a plain connection to TLS in place (STARTTLS; asyncio's
/// StreamWriter.start_tls): everything written so far is sent in plain text
/// first, then the handshake runs in `role` over the same socket, and the
/// returned connection reads and writes through TLS. `reader` and `writer`
/// must be the connection's; they are consumed (the old handles, and copies
/// of them, see a closed connection).
///
/// Bytes already buffered in the reader (received in plain text before the
/// upgrade, and not yet read) are kept: the new reader returns them first,
/// before any decrypted byte. Reading stops before the last plain-text
/// reply is flushed, so a peer that waits for the go-ahead before its
/// handshake (as RFC 3207 and 2595 require of STARTTLS clients) leaves
/// none, and its handshake reaches TLS whole. The connection reads
/// continuously, as asyncio's does: bytes a peer pipelined right behind
/// its plain-text command, before the go-ahead, were read as plain text;
/// they are not replayed into TLS, so that handshake fails (or times out),
/// as it would with asyncio. Beware that such bytes were not protected by
/// TLS (the STARTTLS injection of CVE-2011-0411): a server that must not
/// act on them checks reader.buffered().empty() before upgrading.
///
/// The client's name to verify and send as SNI is tls.server_hostname, else
/// the peer's IP address. The new connection has the reader's limit and
/// the default write-buffer limits.
///
/// Throws std::system_error(errc::concurrent_read) if a read is waiting on
/// the reader, errc::writer_closed after close(), what drain() throws if the
/// connection is lost while flushing, and what the TLS open_connection's
/// handshake throws.
template <class Socket>
[[nodiscard]] net::awaitable<basic_connection<net::ssl::stream<Socket>>> start_tls(
    basic_stream_reader<Socket> reader, basic_stream_writer<Socket> writer, tls_options tls,
    tls_role role = tls_role::client) {
  return detail::upgrade_to_tls(std::move(reader), std::move(writer),
                                std::make_shared<const tls_options>(std::move(tls)), role);
}

}  // namespace costream

#endif
