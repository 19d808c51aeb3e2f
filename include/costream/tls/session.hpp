// costream/tls/session.hpp: what a TLS connection negotiated: the peer's certificate, cipher, version, ALPN.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TLS_SESSION_HPP
#define COSTREAM_TLS_SESSION_HPP

#include <costream/tls/stream.hpp>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <new>
#include <string>

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
///
/// @tparam Next the stream under TLS (a TCP or a Unix socket).
/// @param writer a writer of the TLS connection.
/// @return the certificate, owned; null when the peer sent none.
template <class Next>
x509_ptr peer_certificate(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  return x509_ptr(::SSL_get1_peer_certificate(detail::ssl_of(writer)));
#else
  return x509_ptr(::SSL_get_peer_certificate(detail::ssl_of(writer)));
#endif
}

/// The peer's certificate in PEM form; empty when the peer sent none.
///
/// @tparam Next the stream under TLS (a TCP or a Unix socket).
/// @param writer a writer of the TLS connection.
/// @return the PEM text, or an empty string.
/// @throws std::bad_alloc when OpenSSL cannot write the PEM text.
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

/// The negotiated cipher suite's name (OpenSSL's, e.g.\ "TLS_AES_256_GCM_SHA384").
///
/// @tparam Next the stream under TLS (a TCP or a Unix socket).
/// @param writer a writer of the TLS connection.
/// @return the name; empty when OpenSSL has none.
template <class Next>
std::string cipher(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
  const char* name = ::SSL_get_cipher_name(detail::ssl_of(writer));
  return name ? name : "";
}

/// The negotiated protocol version, e.g.\ "TLSv1.3" (Python's version()).
///
/// @tparam Next the stream under TLS (a TCP or a Unix socket).
/// @param writer a writer of the TLS connection.
/// @return the version's name, as OpenSSL's SSL_get_version gives it.
template <class Next>
std::string tls_version(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
  return ::SSL_get_version(detail::ssl_of(writer));
}

/// The ALPN protocol both sides agreed on; empty when none was negotiated
/// (Python's selected_alpn_protocol()).
///
/// @tparam Next the stream under TLS (a TCP or a Unix socket).
/// @param writer a writer of the TLS connection.
/// @return the protocol's name, or an empty string.
template <class Next>
std::string selected_alpn_protocol(const basic_stream_writer<net::ssl::stream<Next>>& writer) {
  const unsigned char* data = nullptr;
  unsigned int size = 0;
  ::SSL_get0_alpn_selected(detail::ssl_of(writer), &data, &size);
  return data ? std::string(reinterpret_cast<const char*>(data), size) : std::string();
}

}  // namespace costream

#endif
