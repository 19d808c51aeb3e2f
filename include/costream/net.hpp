// costream/net.hpp: the one place that names Asio: its headers, its namespace
// (costream::net) and its error_code type (costream::error_code).
// SPDX-License-Identifier: BSL-1.0
//
// Every costream header reaches Asio through this one. Code that uses
// costream can do the same: write net::ip::tcp::socket and
// costream::error_code instead of naming Asio's namespace.
#ifndef COSTREAM_NET_HPP
#define COSTREAM_NET_HPP

#include <costream/config.hpp>

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
#include <asio/buffer.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/cancellation_type.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/ip/address.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/recycling_allocator.hpp>
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

namespace costream {

/// The Asio namespace costream is built on.
namespace net = ::asio;

/// The error code type of Asio's completion handlers, and of every
/// costream operation's error_code& form.
using error_code = net::error_code;

}  // namespace costream

#endif
