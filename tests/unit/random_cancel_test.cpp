// tests/unit/random_cancel_test.cpp: reads cancelled at random points lose no byte (fixed seeds).
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/run.hpp"

#include "support/net_all.hpp"

#include <functional>
#include <random>
#include <string>

// Each run: a feeder hands a random byte stream to a reader in random chunks,
// one chunk per executor turn; a canceller fires the read's cancellation slot
// at random turns; the reading loop retries after every cancellation and
// collects what the reads return. Whatever the timing, the collected bytes
// must equal the stream exactly: a cancelled read consumes nothing.

namespace {

using read_fn = std::function<asio::awaitable<std::string>(costream::stream_reader&, std::mt19937&)>;

std::string random_stream(std::mt19937& rng, std::size_t size) {
  std::uniform_int_distribution<int> byte('a', 'z');
  std::uniform_int_distribution<int> newline(0, 7);
  std::string s;
  while (s.size() < size) s += newline(rng) == 0 ? '\n' : static_cast<char>(byte(rng));
  return s;
}

asio::awaitable<void> yield_turns(int turns) {
  for (int i = 0; i < turns; ++i) co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
}

asio::awaitable<void> feed_randomly(costream::stream_reader reader, std::string input, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> chunk(1, 9);
  std::uniform_int_distribution<int> pause(0, 3);
  for (std::size_t at = 0; at < input.size();) {
    const std::size_t n = std::min(chunk(rng), input.size() - at);
    reader.feed_data(std::string_view(input).substr(at, n));
    at += n;
    co_await yield_turns(pause(rng));
  }
  reader.feed_eof();
}

asio::awaitable<void> cancel_randomly(asio::cancellation_signal& signal, const bool& done, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> pause(0, 4);
  while (!done) {
    co_await yield_turns(pause(rng));
    signal.emit(asio::cancellation_type::terminal);
  }
}

struct outcome {
  std::string collected;
  int cancellations = 0;
};

outcome run_once(const read_fn& read, unsigned seed) {
  std::mt19937 rng(seed);
  const std::string input = random_stream(rng, 300);
  outcome out;
  costream::test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    costream::stream_reader reader(executor, 1024);  // over the stream size: no line is over the limit
    asio::cancellation_signal signal;
    bool done = false;
    asio::co_spawn(executor, feed_randomly(reader, input, seed + 1), asio::detached);
    asio::co_spawn(executor, cancel_randomly(signal, done, seed + 2), asio::detached);
    for (;;) {
      auto [error, data] = co_await asio::co_spawn(
          executor, read(reader, rng),
          asio::bind_cancellation_slot(signal.slot(), costream::compat::use_tuple));
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const costream::system_error& e) {
          if (costream::error_code(e.code()) != asio::error::operation_aborted) throw;
        }
        ++out.cancellations;
        continue;
      }
      if (data.empty() && reader.at_eof()) break;
      out.collected += data;
    }
    done = true;
  });
  CHECK(out.collected == input);
  return out;
}

void check_method(const read_fn& read) {
  int cancellations = 0;
  for (unsigned seed = 1; seed <= 100; ++seed) cancellations += run_once(read, seed * 7919).cancellations;
  INFO("cancelled reads: " << cancellations);
  CHECK(cancellations > 100);  // the runs did exercise cancellation
}

// Reads that return the partial tail at end of stream instead of throwing,
// so that the loop can collect every byte.
asio::awaitable<std::string> readuntil_or_rest(costream::stream_reader& reader, std::string_view sep) {
  costream::error_code ec;
  std::string data = co_await reader.readuntil(sep, ec);
  if (ec == costream::errc::incomplete_read) co_return data;  // the partial tail
  if (ec == costream::errc::limit_overrun) co_return co_await reader.read(16);
  if (ec) throw costream::system_error(ec);
  co_return data;
}

}  // namespace

TEST_CASE("readline cancelled at random points loses no byte", "[cancel][readline]") {
  check_method([](costream::stream_reader& r, std::mt19937&) -> asio::awaitable<std::string> {
    costream::error_code ec;
    std::string line = co_await r.readline(ec);
    if (ec) throw costream::system_error(ec);
    co_return line;
  });
}

TEST_CASE("readuntil cancelled at random points loses no byte", "[cancel][readuntil]") {
  check_method([](costream::stream_reader& r, std::mt19937&) { return readuntil_or_rest(r, "\n"); });
}

TEST_CASE("readexactly cancelled at random points loses no byte", "[cancel][readexactly]") {
  check_method([](costream::stream_reader& r, std::mt19937& rng) -> asio::awaitable<std::string> {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(1, 40)(rng);
    costream::error_code ec;
    std::string data = co_await r.readexactly(n, ec);
    if (ec && ec != costream::errc::incomplete_read) throw costream::system_error(ec);
    co_return data;  // at end of stream: the partial tail
  });
}

TEST_CASE("read(n) cancelled at random points loses no byte", "[cancel][read]") {
  check_method([](costream::stream_reader& r, std::mt19937& rng) -> asio::awaitable<std::string> {
    co_return co_await r.read(std::uniform_int_distribution<std::size_t>(1, 40)(rng));
  });
}
