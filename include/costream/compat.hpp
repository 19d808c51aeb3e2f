// costream/compat.hpp: the one place that knows how Asio releases differ.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_COMPAT_HPP
#define COSTREAM_COMPAT_HPP

#include <costream/net.hpp>

// as_tuple and deferred moved out of experimental in Asio 1.24 (and the
// experimental names were removed later).
#if defined(COSTREAM_USE_BOOST_ASIO)
#if COSTREAM_ASIO_VERSION >= 102400
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#else
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/asio/experimental/deferred.hpp>
#endif
#else
#if COSTREAM_ASIO_VERSION >= 102400
#include <asio/as_tuple.hpp>
#include <asio/deferred.hpp>
#else
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/deferred.hpp>
#endif
#endif

/// What differs between the Asio releases costream supports, under one name each.
namespace costream::compat {

/// @var deferred
/// Asio's deferred completion token: net::deferred, or
/// net::experimental::deferred before Asio 1.24. as_tuple is likewise
/// net::as_tuple or net::experimental::as_tuple.

// as_tuple and deferred moved out of experimental in Asio 1.24.
#if COSTREAM_ASIO_VERSION >= 102400
using net::as_tuple;
inline constexpr auto deferred = net::deferred;
#else
using net::experimental::as_tuple;
inline constexpr auto deferred = net::experimental::deferred;
#endif

/// Completion token: await an operation and get its error code (and results)
/// as a tuple instead of an exception.
inline constexpr auto use_tuple = as_tuple(net::use_awaitable);

}  // namespace costream::compat

#endif
