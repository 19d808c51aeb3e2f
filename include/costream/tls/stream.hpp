// costream/tls/stream.hpp: Asio's SSL stream, and costream's TLS connection and server types over it.
// SPDX-License-Identifier: BSL-1.0
//
// The one costream header that includes Asio's SSL support (and so OpenSSL).
#ifndef COSTREAM_TLS_STREAM_HPP
#define COSTREAM_TLS_STREAM_HPP

#include <costream/net.hpp>
#include <costream/connection.hpp>
#include <costream/server.hpp>
#include <costream/stream_reader.hpp>
#include <costream/stream_writer.hpp>

#if defined(COSTREAM_USE_BOOST_ASIO)
#include <boost/asio/ssl.hpp>
#else
#include <asio/ssl.hpp>
#endif

namespace costream {

/// A TLS connection's stream: Asio's ssl::stream over a TCP socket.
using tls_stream = net::ssl::stream<net::ip::tcp::socket>;
/// The reader of a TLS connection.
using tls_stream_reader = basic_stream_reader<tls_stream>;
/// The writer of a TLS connection.
using tls_stream_writer = basic_stream_writer<tls_stream>;
/// A TLS connection's reader and writer, as the TLS open_connection returns them.
using tls_connection = basic_connection<tls_stream>;
/// A TLS server, as start_server(callback, host, port, server_options, tls_options) returns it.
using tls_server = basic_server<net::ip::tcp, tls_stream>;

#if defined(COSTREAM_HAS_LOCAL_SOCKETS)
/// A TLS connection's stream over a Unix socket.
using unix_tls_stream = net::ssl::stream<net::local::stream_protocol::socket>;
/// The reader of a TLS connection over a Unix socket.
using unix_tls_stream_reader = basic_stream_reader<unix_tls_stream>;
/// The writer of a TLS connection over a Unix socket.
using unix_tls_stream_writer = basic_stream_writer<unix_tls_stream>;
/// A TLS connection over a Unix socket, as the TLS open_unix_connection returns it.
using unix_tls_connection = basic_connection<unix_tls_stream>;
/// A TLS server on a Unix socket, as the TLS start_unix_server returns it.
using unix_tls_server = basic_server<net::local::stream_protocol, unix_tls_stream>;
#endif

}  // namespace costream

#endif
