// tests/support/units.hpp: byte-size constants shared by the tests.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_UNITS_HPP
#define COSTREAM_TESTS_SUPPORT_UNITS_HPP

#include <cstddef>

inline constexpr std::size_t KiB = 1024;
inline constexpr std::size_t MiB = 1024 * KiB;

#endif
