// costream/config.hpp: language checks and the Asio configuration costream needs.
// SPDX-License-Identifier: BSL-1.0
//
// Include costream (or this header) before any Asio header: the macros below
// must be seen by Asio's own configuration.
#ifndef COSTREAM_CONFIG_HPP
#define COSTREAM_CONFIG_HPP

#if __cplusplus < 202002L && !(defined(_MSVC_LANG) && _MSVC_LANG >= 202002L)
#error "costream needs C++20 (coroutines)"
#endif

#if !defined(__cpp_impl_coroutine) || __cpp_impl_coroutine < 201902L
#error "costream needs a compiler with C++20 coroutines enabled"
#endif

// Standalone Asio unless the user (or CMake's COSTREAM_USE_BOOST_ASIO)
// asks for Boost.Asio; see costream/net.hpp.
#if !defined(COSTREAM_USE_BOOST_ASIO)
#ifndef ASIO_STANDALONE
#define ASIO_STANDALONE 1
#endif
#endif

// Asio up to 1.24 (Boost up to 1.80) only recognises Clang's coroutines
// through the Coroutines TS macros (__cpp_coroutines,
// <experimental/coroutine>), which Clang 17 and later no longer provide.
// Standard coroutines work with every Asio release costream supports, so
// say so; newer Asio detects them itself and these definitions agree with
// what it would choose.
#if defined(__clang__)
#if !defined(ASIO_DISABLE_CO_AWAIT) && !defined(ASIO_HAS_CO_AWAIT)
#define ASIO_HAS_CO_AWAIT 1
#endif
#if !defined(ASIO_DISABLE_STD_COROUTINE) && !defined(ASIO_HAS_STD_COROUTINE)
#define ASIO_HAS_STD_COROUTINE 1
#endif
#if !defined(BOOST_ASIO_DISABLE_CO_AWAIT) && !defined(BOOST_ASIO_HAS_CO_AWAIT)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
#if !defined(BOOST_ASIO_DISABLE_STD_COROUTINE) && !defined(BOOST_ASIO_HAS_STD_COROUTINE)
#define BOOST_ASIO_HAS_STD_COROUTINE 1
#endif
#endif

/// @ingroup macros
/// The default limit of a reader, as asyncio's: 64 KiB. A program may
/// define it (before including costream) to change the default.
#ifndef COSTREAM_DEFAULT_LIMIT
#define COSTREAM_DEFAULT_LIMIT (64 * 1024)
#endif

#endif
