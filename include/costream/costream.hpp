// costream/costream.hpp: the umbrella header; includes every public header.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_COSTREAM_HPP
#define COSTREAM_COSTREAM_HPP

#include <costream/config.hpp>
#include <costream/version.hpp>
#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/error.hpp>
#include <costream/stream_protocol.hpp>
#include <costream/stream_reader.hpp>
#include <costream/stream_writer.hpp>
#include <costream/connection.hpp>
#include <costream/connect_error.hpp>
#include <costream/open_connection.hpp>
#include <costream/server_options.hpp>
#include <costream/server.hpp>
#include <costream/start_server.hpp>
#include <costream/timeout.hpp>
#include <costream/with_error_code.hpp>
#if defined(COSTREAM_HAS_LOCAL_SOCKETS)
#include <costream/unix.hpp>
#endif

/// @namespace costream
/// Python's asyncio streams for C++20 coroutines, over Asio: stream_reader and stream_writer
/// (asyncio's StreamReader and StreamWriter), open_connection, start_server and the server they
/// return, their Unix-socket and TLS forms, and the errors they report. Everything in
/// costream::detail is internal.

#endif
