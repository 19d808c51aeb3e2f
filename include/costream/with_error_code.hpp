// costream/with_error_code.hpp: await any operation for an error code instead of an exception.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_WITH_ERROR_CODE_HPP
#define COSTREAM_WITH_ERROR_CODE_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/error.hpp>

#include <new>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace costream {

namespace detail {

// Inside with_error_code's catch block: the code of the exception in flight
// (a system_error's own; std::invalid_argument and std::bad_alloc from the
// library as std::errc codes); any other exception is rethrown.
inline error_code with_error_code_of_current() {
  if (auto code = current_system_error()) return *code;
  try {
    throw;
  } catch (const std::invalid_argument&) {
    return std::make_error_code(std::errc::invalid_argument);
  } catch (const std::bad_alloc&) {
    return std::make_error_code(std::errc::not_enough_memory);
  }
}

}  // namespace detail

/// Awaits `op` and turns a costream::system_error it throws into `ec`: the no-throw
/// form of every operation that has none of its own (open_connection,
/// start_server, open_unix_connection, start_tls, serve_forever, ...).
///
/// Returns the result, or std::nullopt with `ec` set to the error's code
/// (Asio's code for network failures, costream::errc for the library's own,
/// errc::timed_out from with_timeout). The library's argument and memory
/// errors become codes too: std::invalid_argument (e.g. a TLS setting
/// OpenSSL refuses, a high-water mark below the low one) is
/// std::errc::invalid_argument, std::bad_alloc std::errc::not_enough_memory.
/// `ec` is cleared on success.
///
/// The reads' own error_code forms (`reader.readexactly(n, ec)`) carry more:
/// the partial bytes of an incomplete read and readuntil's consumed count.
/// Prefer them for reads; through with_error_code an incomplete_read_error
/// becomes errc::incomplete_read and its partial bytes are lost to the
/// caller.
///
/// @tparam T what `op` returns.
/// @param op the operation, an awaitable not yet awaited.
/// @param ec set to the error's code; cleared on success. It must outlive
/// the awaitable.
/// @return an awaitable of `op`'s result, or of std::nullopt with `ec` set.
/// @throws std::exception other exceptions (a user callback's own types)
/// propagate.
///
/// @par Cancellation
/// As `op`; a cancelled operation gives operation_aborted.
///
/// @par Example
/// @code
/// costream::error_code ec;
/// auto conn = co_await costream::with_error_code(costream::open_connection(host, port), ec);
/// if (!conn) log("connect failed: " + ec.message());
/// @endcode
template <class T>
[[nodiscard]] net::awaitable<std::optional<T>> with_error_code(net::awaitable<T> op, error_code& ec) {
  ec.clear();
  try {
    co_return co_await std::move(op);
  } catch (...) {
    ec = detail::with_error_code_of_current();
  }
  co_return std::nullopt;
}

/// The form for operations that return nothing (drain, wait_closed,
/// serve_forever): sets `ec` instead of throwing.
///
/// @param op the operation, an awaitable not yet awaited.
/// @param ec set to the error's code, as by the other form; cleared on
/// success. It must outlive the awaitable.
/// @return an awaitable that completes when `op` does.
/// @throws std::exception other exceptions propagate, as by the other form.
///
/// @par Cancellation
/// As `op`; a cancelled operation gives operation_aborted.
[[nodiscard]] inline net::awaitable<void> with_error_code(net::awaitable<void> op, error_code& ec) {
  ec.clear();
  try {
    co_await std::move(op);
  } catch (...) {
    ec = detail::with_error_code_of_current();
  }
}

}  // namespace costream

#endif
