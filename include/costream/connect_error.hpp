// costream/connect_error.hpp: connect_error, open_connection's error carrying every address it tried.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_CONNECT_ERROR_HPP
#define COSTREAM_CONNECT_ERROR_HPP

#include <costream/net.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace costream {

/// open_connection tried one or more addresses and every attempt failed
/// (asyncio raises the attempt's OSError, or for several different ones
/// `OSError("Multiple exceptions: ...")`). Carries each attempt, in the
/// order the attempts started: the endpoint and the error it failed with
/// (opening or binding the socket, or connecting it).
///
/// code() is the first attempt's error. When every attempt failed with the
/// same error it is that error, as asyncio raises that one; when they differ
/// asyncio's combined OSError has no errno at all, and costream still needs
/// one code for catch sites and with_error_code: the first address is the
/// one the resolver (RFC 6724) or the caller preferred, and unlike the last
/// error to arrive it does not depend on timing under Happy Eyeballs.
///
/// what(): a single attempt, or attempts that all name the same endpoint and
/// error, read "open_connection: 127.0.0.1:8888: Connection refused".
/// Otherwise every attempt is listed, as asyncio joins its messages:
/// "Multiple exceptions: [::1]:8888: Connection refused; 127.0.0.1:8888: ...".
/// (asyncio compares the messages, which name the address, so two addresses
/// refusing alike are listed too, while code() is still their common error.)
///
/// Derives from costream::system_error (std::system_error; Boost's under
/// Boost.Asio): existing `catch (const costream::system_error&)` sites and
/// `e.code() == costream::net::error::connection_refused` keep working.
/// Copying is cheap and does not throw (the attempts are shared).
///
/// @par Thread safety
/// Immutable once made; distinct and shared objects: safe.
///
/// @par Example
/// @code
/// try {
///   auto [reader, writer] = co_await costream::open_connection("localhost", 8888);
/// } catch (const costream::connect_error& e) {
///   for (const auto& a : e.attempts()) log(a.endpoint, a.code.message());
/// }
/// @endcode
class connect_error : public system_error {
 public:
  /// One connection attempt and how it failed.
  struct attempt {
    /// The address and port tried.
    net::ip::tcp::endpoint endpoint;
    /// The error it failed with.
    error_code code;

    /// Same endpoint and same error.
    friend bool operator==(const attempt&, const attempt&) = default;
  };

  /// `attempts` must not be empty.
  ///
  /// @param attempts every attempt, in the order they started; the first
  /// one's error becomes code().
  explicit connect_error(std::vector<attempt> attempts)
      : system_error(attempts.front().code),
        state_(std::make_shared<const state>(describe(attempts), std::move(attempts))) {}

  /// Every attempt, in the order they started.
  ///
  /// @return the attempts, at least one.
  const std::vector<attempt>& attempts() const noexcept { return state_->attempts; }

  /// Whether every attempt failed with the same error (which is code()).
  ///
  /// @return true when every attempt's code equals code().
  bool same_error() const noexcept {
    for (const attempt& a : state_->attempts)
      if (a.code != code()) return false;
    return true;
  }

  /// The message: one attempt, or "Multiple exceptions: ..." (see
  /// connect_error).
  ///
  /// @return the endpoint and error of the attempt, or of every attempt.
  const char* what() const noexcept override { return state_->message.c_str(); }

 private:
  struct state {
    state(std::string m, std::vector<attempt> a) : message(std::move(m)), attempts(std::move(a)) {}
    std::string message;
    std::vector<attempt> attempts;
  };

  // As asio's operator<< for endpoints: an IPv6 address in brackets.
  static std::string endpoint_text(const net::ip::tcp::endpoint& e) {
    const std::string address = e.address().to_string();
    return (e.address().is_v6() ? "[" + address + "]" : address) + ":" + std::to_string(e.port());
  }

  static std::string attempt_text(const attempt& a) { return endpoint_text(a.endpoint) + ": " + a.code.message(); }

  static std::string describe(const std::vector<attempt>& attempts) {
    bool all_alike = true;
    for (const attempt& a : attempts) all_alike = all_alike && a == attempts.front();
    if (all_alike) return "open_connection: " + attempt_text(attempts.front());
    std::string message = "Multiple exceptions: ";
    for (std::size_t i = 0; i < attempts.size(); ++i) message += (i == 0 ? "" : "; ") + attempt_text(attempts[i]);
    return message;
  }

  std::shared_ptr<const state> state_;
};

}  // namespace costream

#endif
