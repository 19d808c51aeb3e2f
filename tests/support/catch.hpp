// tests/support/catch.hpp: one include for Catch2 v2 (Debian's 2.13) and v3.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_CATCH_HPP
#define COSTREAM_TESTS_SUPPORT_CATCH_HPP

#if defined(COSTREAM_CATCH2_V3)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif

#endif
