// tests/package/pkgconfig/tls.cpp: costream-tls.pc brings OpenSSL: a TLS context is made and
// OpenSSL's verification messages are reached, so libssl and libcrypto must link.
// SPDX-License-Identifier: BSL-1.0
#include <costream/costream.hpp>
#include <costream/tls.hpp>

#include <iostream>
#include <string>

int main() {
  costream::net::ssl::context ctx(costream::net::ssl::context::tls_client);
  costream::tls_options tls(ctx);
  const costream::error_code ec = costream::tls_verify_errc::certificate_has_expired;
  const std::string message = ec.message();
  std::cout << "costream " << COSTREAM_VERSION_MAJOR << '.' << COSTREAM_VERSION_MINOR << " with OpenSSL: " << message
            << '\n';
  return tls.verify_peer && ctx.native_handle() != nullptr && !message.empty() ? 0 : 1;
}
