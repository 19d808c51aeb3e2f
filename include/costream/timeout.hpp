// costream/timeout.hpp: give any awaitable operation a deadline.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TIMEOUT_HPP
#define COSTREAM_TIMEOUT_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/error.hpp>

#if defined(COSTREAM_USE_BOOST_ASIO)
#include <boost/asio/experimental/parallel_group.hpp>
#else
#include <asio/experimental/parallel_group.hpp>
#endif

#include <chrono>
#include <exception>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

namespace costream {

namespace detail {

// co_spawn completes with (exception_ptr, T), and a parallel group stores
// results before it knows which operation won, so T must be default
// constructible; optional<T> lifts that requirement (connections are not).
template <class T>
net::awaitable<std::optional<T>> as_optional(net::awaitable<T> op) {
  co_return co_await std::move(op);
}

inline system_error timed_out_error() { return system_error(make_error_code(errc::timed_out)); }

// An operation that lost the race against its timer but completed anyway
// (its result was ready when the cancellation arrived) keeps its result:
// dropping it would lose received bytes. Only operation_aborted means that
// the operation was really cut short by the timeout.
inline bool aborted(const std::exception_ptr& e) {
  if (!e) return false;
  try {
    std::rethrow_exception(e);
  } catch (...) {
    auto code = current_system_error();
    return code && *code == net::error::operation_aborted;
  }
}

}  // namespace detail

/// Runs `op` with a deadline: whichever ends first, the operation or the
/// timer, cancels the other (Asio per-operation cancellation).
///
/// Returns what `op` returns and rethrows what it throws, as soon as it
/// completes: an operation that fails before the deadline reports its own
/// error, not a timeout. If the deadline passes first, `op` is cancelled and
/// with_timeout throws costream::system_error with code errc::timed_out.
///
/// Every costream read is cancel-safe, so a timed-out read has consumed
/// nothing: the bytes received so far stay buffered and the next read sees
/// them; the reader and its connection stay usable. A timed-out drain()
/// leaves the written bytes queued; a timed-out open_connection closes the
/// sockets it opened.
///
/// Works on every supported Asio (1.22 onwards); on Asio 1.30+ `costream::net::cancel_after`
/// is an alternative for single operations, reporting operation_aborted.
///
/// @tparam T what `op` returns.
/// @tparam Rep the duration's representation.
/// @tparam Period the duration's period.
/// @param op the operation, an awaitable not yet awaited.
/// @param timeout how long `op` may take.
/// @return an awaitable of what `op` returns.
/// @throws costream::system_error errc::timed_out when the deadline passes
/// first.
/// @throws std::exception what `op` throws, as soon as it does.
///
/// @par Example
/// @code
/// std::string line = co_await costream::with_timeout(reader.readline(), 5s);
/// @endcode
template <class T, class Rep, class Period>
[[nodiscard]] net::awaitable<T> with_timeout(net::awaitable<T> op, std::chrono::duration<Rep, Period> timeout) {
  auto executor = co_await net::this_coro::executor;
  net::steady_timer timer(executor, std::chrono::duration_cast<net::steady_timer::duration>(timeout));
  if constexpr (std::is_void_v<T>) {
    auto [order, error, timer_ec] =
        co_await net::experimental::make_parallel_group(net::co_spawn(executor, std::move(op), compat::deferred),
                                                         timer.async_wait(compat::deferred))
            .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
    if (error) {
      if (order[0] == 1 && !timer_ec && detail::aborted(error)) throw detail::timed_out_error();
      std::rethrow_exception(error);
    }
  } else {
    auto [order, error, result, timer_ec] =
        co_await net::experimental::make_parallel_group(
            net::co_spawn(executor, detail::as_optional(std::move(op)), compat::deferred),
            timer.async_wait(compat::deferred))
            .async_wait(net::experimental::wait_for_one(), net::use_awaitable);
    if (error) {
      if (order[0] == 1 && !timer_ec && detail::aborted(error)) throw detail::timed_out_error();
      std::rethrow_exception(error);
    }
    co_return std::move(*result);
  }
}

/// The no-throw form: on timeout sets `ec` to errc::timed_out and returns a
/// value-initialised T (for reads: an empty string; the bytes received stay
/// buffered). Errors of `op` itself are thrown as by `op`; pass `op`'s own
/// error_code form (e.g. `reader.readline(ec2)`) to have none.
///
/// @tparam T what `op` returns: void or default constructible.
/// @tparam Rep the duration's representation.
/// @tparam Period the duration's period.
/// @param op the operation, an awaitable not yet awaited.
/// @param timeout how long `op` may take.
/// @param ec set to errc::timed_out when the deadline passes first;
/// cleared otherwise. It must outlive the awaitable.
/// @return an awaitable of what `op` returns, or of T{} on timeout.
/// @throws std::exception what `op` throws.
template <class T, class Rep, class Period>
[[nodiscard]] net::awaitable<T> with_timeout(net::awaitable<T> op, std::chrono::duration<Rep, Period> timeout,
                                              error_code& ec) {
  ec.clear();
  try {
    co_return co_await with_timeout(std::move(op), timeout);
  } catch (const system_error& e) {
    if (e.code() != make_error_code(errc::timed_out)) throw;
    ec = e.code();
  }
  if constexpr (!std::is_void_v<T>) co_return T{};
}

}  // namespace costream

#endif
