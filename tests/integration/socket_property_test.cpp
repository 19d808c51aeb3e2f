// tests/integration/socket_property_test.cpp: the reader's property test over a TCP connection,
// whose transport reads continuously: bytes arrive while no read waits, and reading pauses.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/property_cases.hpp"

#include <cstddef>
#include <cstdint>

// The cases of tests/unit/chunking_property_test.cpp, sent to a connection
// instead of fed by hand: each piece is a send() of the peer, the transport
// delivers whatever the kernel has when it reads (pieces may merge), and
// the model is fed each delivery as it happens. Every outcome and the
// reader's state after every step must equal the model's.
TEST_CASE("every script gives the model's results over a connection that reads continuously",
          "[property][reader][connection]") {
  constexpr std::uint64_t cases = 250;
  std::size_t connections = 0;
  std::size_t paused = 0;
  for (std::uint64_t seed = 1; seed <= cases; ++seed) {
    const costream::test::property_case c = costream::test::random_case(seed);
    const auto all = costream::test::chunkings_of(c.input, seed);
    // Whole, byte by byte, and one random cutting: the pieces merge in the kernel anyway.
    for (std::size_t i : {std::size_t{0}, std::size_t{1}, std::size_t{2}}) {
      const costream::test::script_result r = costream::test::run_script(c, all[i], true);
      ++connections;
      if (r.pauses != 0) ++paused;
      if (!r.failure.empty()) {
        FAIL("seed " << seed << ": " << costream::test::describe(c) << "\nchunks: " << costream::test::describe(all[i])
                     << "\n" << r.failure);
      }
    }
  }
  INFO(paused << " of " << connections << " connections paused reading above 2 x limit");
  CHECK(connections == 3 * cases);
  CHECK(paused > connections / 10);
}
