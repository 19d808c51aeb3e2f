// tests/support/net_all.hpp: all of Asio for the tests, the one costream is built on (standalone
// or Boost), under the name `asio`.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_NET_ALL_HPP
#define COSTREAM_TESTS_SUPPORT_NET_ALL_HPP

#include <costream/costream.hpp>

#if defined(COSTREAM_USE_BOOST_ASIO)
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
// The tests name Asio `asio::` whichever Asio costream uses.
namespace asio = boost::asio;
#else
#include <asio.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#endif

#endif
