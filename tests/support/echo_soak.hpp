// tests/support/echo_soak.hpp: the checksummed echo protocol that soak tests run over many connections.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_ECHO_SOAK_HPP
#define COSTREAM_TESTS_SUPPORT_ECHO_SOAK_HPP

#include "support/byte_pools.hpp"
#include "support/hostile.hpp"  // fnv1a

#include <costream/costream.hpp>

#include <chrono>
#include <cstddef>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>

// The protocol: the client sends rounds of lines ("L <random text>\n") each
// followed by one block ("B <n>\n" and n random bytes, newlines included),
// then "END\n". The server echoes every line and block as it comes (blocks
// read with readexactly) and answers "END" with "SUM <hash> <bytes>\n", the
// FNV-1a checksum of all it received before. The client reads the echoes
// concurrently and compares: what it sent, what came back, and the server's
// sum must all agree.

namespace costream::test {

/// The traffic of one connection.
struct soak_shape {
  int rounds;                 // each: lines_per_round lines, then one block
  int lines_per_round;
  std::size_t max_line;       // payload bytes, newline not counted
  std::size_t max_block;      // block sizes: 1 .. max_block
};

/// The server's answer to "END" after receiving what `received` summed.
inline std::string checksum_line(const fnv1a& received) {
  return "SUM " + std::to_string(received.hash) + " " + std::to_string(received.bytes) + "\n";
}

/// The echo server's side, until end of stream. Every read and drain is
/// bounded by `timeout` (errc::timed_out); a block header over `max_block`
/// throws std::runtime_error.
inline net::awaitable<void> serve_checksummed_echo(stream_reader& reader, stream_writer& writer, std::size_t max_block,
                                                   std::chrono::milliseconds timeout) {
  fnv1a received;
  for (;;) {
    const std::string line = co_await with_timeout(reader.readline(), timeout);
    if (line.empty()) co_return;
    if (line == "END\n") {
      writer.write(checksum_line(received));
      co_await with_timeout(writer.drain(), timeout);
      continue;
    }
    received.add(line);
    writer.write(line);
    if (line.starts_with("B ")) {
      const std::size_t n = std::stoul(line.substr(2));
      if (n == 0 || n > max_block) throw std::runtime_error("bad block size " + line);
      const std::string block = co_await with_timeout(reader.readexactly(n), timeout);
      received.add(block);
      writer.write(block);
    }
    co_await with_timeout(writer.drain(), timeout);
  }
}

/// The client's sending side: the rounds drawn from `seed` (the same bytes
/// on every compiler), then "END"; `sent` sums what went.
inline net::awaitable<void> send_rounds(stream_writer& writer, unsigned seed, const byte_pools& pools,
                                        const soak_shape& shape, fnv1a& sent) {
  std::mt19937 rng(seed);
  for (int round = 0; round < shape.rounds; ++round) {
    for (int i = 0; i < shape.lines_per_round; ++i) {
      const std::size_t at = rng() % (pools.text.size() - shape.max_line);  // drawn in this order, not as arguments
      const std::size_t length = rng() % (shape.max_line + 1);
      std::string line = "L ";
      line.append(pools.text, at, length);
      line += '\n';
      writer.write(line);
      sent.add(line);
    }
    const std::size_t n = 1 + rng() % shape.max_block;
    const std::string header = "B " + std::to_string(n) + "\n";
    const std::string_view block = std::string_view(pools.binary).substr(rng() % (pools.binary.size() - shape.max_block), n);
    writer.write(header);
    writer.write(block);
    sent.add(header);
    sent.add(block);
    co_await writer.drain();
  }
  writer.write("END\n");
  co_await writer.drain();
}

/// The client's receiving side: the echoes, summed into `got`, up to the
/// server's "SUM" line, which is left in `sum`. End of stream before it
/// throws std::runtime_error.
inline net::awaitable<void> receive_echoes(stream_reader& reader, fnv1a& got, std::string& sum) {
  for (;;) {
    const std::string line = co_await reader.readline();
    if (line.empty()) throw std::runtime_error("end of stream before the server's checksum");
    if (line.starts_with("SUM ")) {
      sum = line;
      co_return;
    }
    got.add(line);
    if (line.starts_with("B ")) got.add(co_await reader.readexactly(std::stoul(line.substr(2))));
  }
}

/// What is wrong with a finished exchange: empty when every byte came back
/// once and in order, the server's sum agrees, and nothing came after it
/// (`rest`: what the client read after its end).
inline std::string echo_mismatch(const fnv1a& sent, const fnv1a& got, const std::string& sum, const std::string& rest) {
  if (got.bytes != sent.bytes || got.hash != sent.hash)
    return "echoed " + std::to_string(got.bytes) + " bytes of " + std::to_string(sent.bytes) +
           (got.hash != sent.hash ? ", checksums differ" : "");
  if (sum != checksum_line(sent)) return "server saw " + sum + ", expected " + checksum_line(sent);
  if (!rest.empty()) return "bytes after the checksum";
  return {};
}

}  // namespace costream::test

#endif
