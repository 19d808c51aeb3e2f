// tests/support/byte_pools.hpp: random bytes that soak tests cut their lines and blocks from.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_BYTE_POOLS_HPP
#define COSTREAM_TESTS_SUPPORT_BYTE_POOLS_HPP

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>

namespace costream::test {

/// Two pools of seeded random bytes: slices at random offsets are cheap and
/// never repeat in the same place, and a given seed makes the same bytes on
/// every compiler.
struct byte_pools {
  std::string text;    // printable, no newline: line payloads
  std::string binary;  // every byte value, newlines included: blocks

  byte_pools(std::size_t size, std::uint64_t seed) : text(size, '\0'), binary(size, '\0') {
    std::mt19937_64 rng(seed);
    for (auto& c : text) c = static_cast<char>(' ' + rng() % 95);
    for (auto& c : binary) c = static_cast<char>(rng() & 0xff);
  }
};

}  // namespace costream::test

#endif
