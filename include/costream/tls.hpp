// costream/tls.hpp: TLS over Asio's ssl::stream (OpenSSL): open_connection, start_server, start_tls.
// SPDX-License-Identifier: BSL-1.0
//
// The umbrella of include/costream/tls/. Not included by costream.hpp: only
// code that includes this header needs OpenSSL (link costream::tls in CMake).
#ifndef COSTREAM_TLS_HPP
#define COSTREAM_TLS_HPP

#include <costream/tls/stream.hpp>
#include <costream/tls/options.hpp>
#include <costream/tls/verify_error.hpp>
#include <costream/tls/session.hpp>
#include <costream/tls/handshake.hpp>
#include <costream/tls/client.hpp>
#include <costream/tls/server.hpp>
#include <costream/tls/start_tls.hpp>

#endif
