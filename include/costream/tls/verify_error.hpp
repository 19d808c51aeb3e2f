// costream/tls/verify_error.hpp: certificate verification failures as typed errors.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TLS_VERIFY_ERROR_HPP
#define COSTREAM_TLS_VERIFY_ERROR_HPP

#include <costream/net.hpp>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <string>
#include <system_error>
#include <type_traits>

namespace costream {

// ---- certificate verification errors --------------------------------------

/// Some of OpenSSL's certificate verification results (X509_V_ERR_*), the
/// values of tls_verify_category(). Any other X509_V_ERR_* value can be
/// reported too; compare with std::error_code(value, tls_verify_category()).
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
///
/// @return the one category object, named "costream.tls.verify".
inline const std::error_category& tls_verify_category() noexcept {
  static const detail::tls_verify_category_impl category;
  return category;
}

/// A std::error_code of tls_verify_category() (found by argument-dependent
/// lookup: `e.code() == costream::tls_verify_errc::hostname_mismatch` works;
/// under Boost.Asio it converts to costream::error_code too).
///
/// @param e the verification result.
/// @return the code of `e` in tls_verify_category().
inline std::error_code make_error_code(tls_verify_errc e) noexcept {
  return {static_cast<int>(e), tls_verify_category()};
}

/// The peer's certificate failed verification (Python's
/// SSLCertVerificationError). code() is in tls_verify_category():
/// e.code() == tls_verify_errc::certificate_has_expired, hostname_mismatch,
/// unable_to_get_issuer_certificate_locally, ...
class certificate_verify_error : public system_error {
 public:
  /// The error for one verification result.
  ///
  /// @param verify_code OpenSSL's verification result (X509_V_ERR_*), as
  /// SSL_get_verify_result gives it.
  explicit certificate_verify_error(long verify_code)
      : system_error(error_code(std::error_code(static_cast<int>(verify_code), tls_verify_category())),
                     "costream: TLS handshake: certificate verify failed") {}

  /// OpenSSL's verification result (X509_V_ERR_*).
  ///
  /// @return the result (the value of code() as a std::error_code).
  long verify_code() const noexcept { return std::error_code(code()).value(); }
  /// OpenSSL's description of it, e.g.\ "certificate has expired".
  ///
  /// @return code().message().
  std::string verify_message() const { return code().message(); }
};

}  // namespace costream

/// costream::tls_verify_errc values are error codes: they convert to error_code.
template <>
struct std::is_error_code_enum<costream::tls_verify_errc> : std::true_type {};

#endif
