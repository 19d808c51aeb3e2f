// costream/tls/handshake.hpp: the TLS handshake (SNI, verification, ALPN, timeout) and the protocol over a handshaken stream.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TLS_HANDSHAKE_HPP
#define COSTREAM_TLS_HANDSHAKE_HPP

#include <costream/tls/options.hpp>
#include <costream/tls/stream.hpp>
#include <costream/tls/verify_error.hpp>
#include <costream/error.hpp>
#include <costream/stream_protocol.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace costream {

// ---- the handshake -----------------------------------------------------------

namespace detail {

[[noreturn]] inline void throw_openssl_error(const char* what) {
  throw system_error(error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()), what);
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
/// handshake under options.handshake_timeout. Throws certificate_verify_error
/// (the peer's certificate refused, by a client or a verifying server),
/// costream::system_error(errc::timed_out), or the handshake's error (Asio's SSL
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
  } else {
    if (!alpn.empty()) ::SSL_set_ex_data(ssl, alpn_ex_index(), &alpn);
    // A server verifies client certificates when its context says so; a
    // refused one is then typed as on a client (a client that sent none is
    // OpenSSL's error, since there is no verification result to give).
    verifying = (::SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) != 0;
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
  if (deadline->expired) throw system_error(make_error_code(errc::timed_out), "costream: TLS handshake");
  if (verifying) {
    const long result = ::SSL_get_verify_result(ssl);
    if (result != X509_V_OK) throw certificate_verify_error(result);
  }
  throw system_error(ec, "costream: TLS handshake");
}

/// Wraps a connected socket in TLS, runs the handshake and returns the
/// connection's protocol. `options` and `default_hostname` must outlive the
/// returned awaitable (the callers' frames hold them).
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

}  // namespace detail

}  // namespace costream

#endif
