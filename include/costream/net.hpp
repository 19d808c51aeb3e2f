// costream/net.hpp: the one place that names Asio: its headers, its namespace
// (costream::net) and its error_code type (costream::error_code).
// SPDX-License-Identifier: BSL-1.0
//
// Every costream header reaches Asio through this one. Code that uses
// costream can do the same: write net::ip::tcp::socket and
// costream::error_code instead of naming Asio's namespace. Beside what
// costream itself uses it includes what a program around it usually needs
// (io_context, signal_set, read, posix::stream_descriptor, connect_pair, the
// experimental awaitable operators), so costream.hpp is the only include a
// program needs for either Asio.
//
// Standalone Asio by default; Boost.Asio when COSTREAM_USE_BOOST_ASIO is
// defined before costream is included (CMake: -DCOSTREAM_USE_BOOST_ASIO=ON
// defines it for every user of costream::costream).
#ifndef COSTREAM_NET_HPP
#define COSTREAM_NET_HPP

#include <costream/config.hpp>

#include <system_error>

#if defined(COSTREAM_USE_BOOST_ASIO)

#include <boost/asio/version.hpp>

#if BOOST_ASIO_VERSION < 102200
#error "costream needs Asio 1.22 or newer (Boost 1.79 or newer)"
#endif

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/connect_pair.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/recycling_allocator.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/socket_base.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

/// The Asio release in use, as ASIO_VERSION spells it (1.26.0 is 102600).
#define COSTREAM_ASIO_VERSION BOOST_ASIO_VERSION

#if defined(BOOST_ASIO_HAS_LOCAL_SOCKETS)
/// Defined when the platform has Unix domain sockets (costream/unix.hpp).
#define COSTREAM_HAS_LOCAL_SOCKETS 1
#endif

#if !defined(BOOST_ASIO_HAS_CO_AWAIT)
#error "Boost.Asio did not enable co_await: include <costream/costream.hpp> before any Asio header"
#endif

namespace costream {

/// The Asio namespace costream is built on: Boost.Asio's.
namespace net = ::boost::asio;

/// The error code type of Asio's completion handlers, and of every
/// costream operation's error_code& form: Boost's. It converts to and
/// compares with std::error_code (Boost 1.77 onwards), so costream's own
/// codes (std::error_code, errc) and Asio's meet in one type.
using error_code = ::boost::system::error_code;

/// The exception type of Asio's own operations and of costream's (every
/// costream exception derives from it): Boost's system_error, as Boost.Beast
/// throws. code() is a costream::error_code.
using system_error = ::boost::system::system_error;

}  // namespace costream

#else

#include <asio/version.hpp>

#if ASIO_VERSION < 102200
#error "costream needs Asio 1.22 or newer"
#endif

#include <asio/any_io_executor.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/bind_cancellation_slot.hpp>
#include <asio/bind_executor.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/local/connect_pair.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/post.hpp>
#include <asio/read.hpp>
#include <asio/recycling_allocator.hpp>
#include <asio/signal_set.hpp>
#include <asio/socket_base.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

/// @ingroup macros
/// The Asio release in use, as ASIO_VERSION spells it (1.22.1 is 102201).
#define COSTREAM_ASIO_VERSION ASIO_VERSION

#if defined(ASIO_HAS_LOCAL_SOCKETS)
/// @ingroup macros
/// Defined when the platform has Unix domain sockets (costream/unix.hpp).
#define COSTREAM_HAS_LOCAL_SOCKETS 1
#endif

#if !defined(ASIO_HAS_CO_AWAIT)
#error "Asio did not enable co_await: include <costream/costream.hpp> before any Asio header"
#endif

namespace costream {

/// The Asio namespace costream is built on.
namespace net = ::asio;

/// The error code type of Asio's completion handlers, and of every
/// costream operation's error_code& form (standalone Asio's is std::error_code).
using error_code = net::error_code;

/// The exception type of Asio's own operations and of costream's (every
/// costream exception derives from it): std::system_error with standalone Asio.
using system_error = std::system_error;

}  // namespace costream

#endif

#endif
