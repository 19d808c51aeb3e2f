// tests/integration/soak_test.cpp: 2,000 concurrent connections, every byte checksummed end to end.
// SPDX-License-Identifier: BSL-1.0
#include "support/byte_pools.hpp"
#include "support/catch.hpp"
#include "support/echo_soak.hpp"
#include "support/hostile.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"
#include "support/units.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>  // malloc_trim
#endif

// A bounded soak: a costream client opens `connections` connections to a
// costream echo server in the same process (one io_context, one thread) and
// holds them all open at once; then each connection sends rounds of lines of
// random length and exact-size blocks of random bytes, reading the echoes
// concurrently (readline / readexactly). Each side checksums what it sent
// and got (FNV-1a): the client's sent and echoed streams must match, and the
// server reports its own checksum of what it received. Afterwards every
// descriptor must be closed again and the resident size must not have grown
// much.

using namespace costream;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t wanted_connections = 2000;
constexpr int rounds = 3;                    // per connection
constexpr int lines_per_round = 8;           // then one block
constexpr std::size_t max_line = 400;        // payload bytes, newline not counted
constexpr std::size_t max_block = 24 * KiB;  // readexactly sizes: 1 .. max_block
constexpr test::soak_shape shape{rounds, lines_per_round, max_line, max_block};

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COSTREAM_SOAK_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define COSTREAM_SOAK_SANITIZED 1
#endif
#endif

#if defined(COSTREAM_SOAK_SANITIZED)
constexpr bool sanitized = true;
// The sanitizers' allocators keep freed memory (ASan's quarantine, caches);
// this hands it back to the system (sanitizer/allocator_interface.h).
extern "C" void __sanitizer_purge_allocator();
#else
constexpr bool sanitized = false;
#endif

// Random bytes to cut lines and blocks from.
const test::byte_pools& pools() {
  static const test::byte_pools p(1 * MiB, 20240611);
  return p;
}

struct soak_state {
  std::size_t target = 0;
  std::size_t connected = 0;        // client connections open
  std::size_t server_started = 0;   // server callbacks running or done
  std::size_t server_finished = 0;
  std::size_t finished = 0;         // client coroutines done, well or not
  std::size_t intact = 0;           // connections whose every check passed
  std::uint64_t bytes_sent = 0;     // by the intact connections' clients (each echoed and checked)
  std::vector<std::string> failures;  // the first few
  std::vector<std::string> escaped;   // from the server's error handler
  std::optional<asio::steady_timer> gate;  // holds the clients until every connection is open

  void fail(std::string what) {
    if (failures.size() < 10) failures.push_back(std::move(what));
  }
};

std::string what(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown";
  }
}

// The echo server (support/echo_soak.hpp).
asio::awaitable<void> soak_echo(std::shared_ptr<soak_state> state, stream_reader reader, stream_writer writer) {
  ++state->server_started;
  co_await test::serve_checksummed_echo(reader, writer, max_block, 60s);
  ++state->server_finished;
}

std::function<asio::awaitable<void>(stream_reader, stream_writer)> soak_callback(std::shared_ptr<soak_state> state) {
  return [state](stream_reader r, stream_writer w) { return soak_echo(state, r, w); };
}

asio::awaitable<void> soak_client(std::shared_ptr<soak_state> state, std::uint16_t port, unsigned id) {
  const tcp::endpoint endpoint(test::loopback_v4(), port);
  auto [reader, writer] = co_await open_connection(endpoint);
  ++state->connected;
  auto [gate_ec] = co_await state->gate->async_wait(compat::use_tuple);  // opened by cancelling it
  (void)gate_ec;

  test::fnv1a sent;
  test::fnv1a got;
  std::string sum;
  {
    using namespace asio::experimental::awaitable_operators;
    co_await (test::send_rounds(writer, id, pools(), shape, sent) && test::receive_echoes(reader, got, sum));
  }
  writer.write_eof();
  const std::string rest = co_await with_timeout(reader.read(), 60s);  // the server closes after our end
  writer.close();
  co_await writer.wait_closed();

  if (const std::string wrong = test::echo_mismatch(sent, got, sum, rest); !wrong.empty()) {
    state->fail("connection " + std::to_string(id) + ": " + wrong);
  } else {
    ++state->intact;
    state->bytes_sent += sent.bytes;
  }
}

double mib(std::size_t bytes) { return static_cast<double>(bytes) / static_cast<double>(MiB); }

}  // namespace

TEST_CASE("a soak of 2,000 concurrent connections echoes every byte intact and gives every descriptor back",
          "[soak]") {
  test::fd_limit_raised fd_limit;
  (void)pools();  // built before the memory baseline

  const std::size_t fds_before = test::count_open_fds();
  std::size_t connections = wanted_connections;
  // Each connection is two descriptors here (client and server side), plus room for the rest.
  const std::size_t needed = fds_before + 2 * connections + 64;
  if (fd_limit.limit() < needed) {
    connections = fd_limit.limit() > fds_before + 64 + 2 ? (fd_limit.limit() - fds_before - 64) / 2 : 1;
    WARN("RLIMIT_NOFILE hard limit " << fd_limit.limit() << " is below the " << needed << " descriptors needed: soak cut from "
                                     << wanted_connections << " to " << connections << " connections");
  }
  const std::size_t rss_before = test::resident_bytes();

  auto state = std::make_shared<soak_state>();
  state->target = connections;
  std::size_t fds_peak = 0;
  std::size_t fds_end_of_run = 0;
  std::size_t rss_idle = 0;  // every connection open, no traffic yet
  std::size_t rss_peak = 0;
  std::chrono::milliseconds connect_time{0};
  std::chrono::milliseconds traffic_time{0};
  const auto started = std::chrono::steady_clock::now();

  test::run(
      [&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        const std::size_t fds_in_run = test::count_open_fds();
        state->gate.emplace(executor, asio::steady_timer::time_point::max());
        server_options options;
        options.backlog = 4096;
        auto callback = soak_callback(state);
        auto srv = co_await start_server(callback, "127.0.0.1", 0, options);
        srv.set_error_handler([state](std::exception_ptr e) {
          if (state->escaped.size() < 10) state->escaped.push_back(what(e));
        });
        const std::uint16_t port = srv.sockets()[0].port();

        // Open every connection, holding each at the gate.
        for (std::size_t id = 0; id < connections; ++id) {
          asio::co_spawn(executor, soak_client(state, port, static_cast<unsigned>(id)), [state, id](std::exception_ptr e) {
            ++state->finished;
            if (e) state->fail("connection " + std::to_string(id) + ": " + what(e));
          });
        }
        std::function<bool()> all_open = [&] {
          return state->finished > 0 || (state->connected == connections && state->server_started == connections);
        };
        const bool opened = co_await test::eventually(all_open, 60s);
        CHECK(opened);
        CHECK(state->connected == connections);
        CHECK(state->server_started == connections);
        fds_peak = test::count_open_fds();
        rss_idle = test::resident_bytes();
        rss_peak = rss_idle;
        const auto gate_opened = std::chrono::steady_clock::now();
        connect_time = std::chrono::duration_cast<std::chrono::milliseconds>(gate_opened - started);

        // Let them all talk at once.
        state->gate->expires_at(asio::steady_timer::time_point::min());
        std::function<bool()> all_done = [&] {
          return state->finished == connections && state->server_finished + state->escaped.size() >= connections;
        };
        const bool done = co_await test::eventually(all_done, 100s);
        CHECK(done);
        traffic_time = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                             gate_opened);
        rss_peak = std::max(rss_peak, test::resident_bytes());

        srv.close();
        costream::error_code ec;
        co_await with_timeout(srv.wait_closed(), 10s, ec);
        CHECK_FALSE(ec);
        state->gate.reset();
        std::function<bool()> released = [&] { return test::count_open_fds() <= fds_in_run; };
        const bool back = co_await test::eventually(released, 10s);
        CHECK(back);
        fds_end_of_run = test::count_open_fds();
      },
      sanitized ? 240s : 120s);

  const std::size_t fds_after = test::count_open_fds();
  // The allocator keeps freed memory (glibc in its arenas: RSS stays at the
  // peak); have it give that back first, so that what remains is what is
  // still allocated.
  const std::size_t rss_retained = test::resident_bytes();
#if defined(COSTREAM_SOAK_SANITIZED)
  __sanitizer_purge_allocator();
#elif defined(__GLIBC__)
  malloc_trim(0);
#endif
  const std::size_t rss_after = test::resident_bytes();
  const auto total_time =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  const std::size_t rss_growth = rss_after > rss_before ? rss_after - rss_before : 0;
  // Sanitizers keep shadow memory mapped, and their allocators do not give
  // all freed memory back: only a sanity bound there (LeakSanitizer checks
  // for leaks at exit under ASan).
  const std::size_t rss_bound = sanitized ? 512 * MiB : 64 * MiB;

  std::cout << "soak: " << connections << " connections held at once (" << fds_peak << " fds at the peak), "
            << state->intact << " intact; " << state->intact * rounds * lines_per_round << " lines and "
            << state->intact * rounds << " blocks in those; "
            << mib(state->bytes_sent) << " MiB sent and " << mib(state->bytes_sent) << " MiB echoed, every byte checked; "
            << "fds " << fds_before << " before, " << fds_after << " after; RSS " << mib(rss_before) << " MiB before, "
            << mib(rss_idle) << " MiB with every connection idle, " << mib(rss_peak) << " MiB after the traffic, "
            << mib(rss_retained) << " MiB after closing, " << mib(rss_after) << " MiB once malloc gave memory back; "
            << "connect " << connect_time.count()
            << " ms, traffic " << traffic_time.count() << " ms, total " << total_time.count() << " ms\n";

  INFO("connections " << connections << ", intact " << state->intact << ", finished " << state->finished
                      << "; server callbacks started " << state->server_started << ", finished "
                      << state->server_finished);
  INFO("first failure: " << (state->failures.empty() ? std::string("none") : state->failures.front()));
  INFO("first escaped: " << (state->escaped.empty() ? std::string("none") : state->escaped.front()));
  INFO("fds before " << fds_before << ", at the peak " << fds_peak << ", end of run " << fds_end_of_run << ", after "
                     << fds_after);
  INFO("RSS before " << mib(rss_before) << " MiB, idle " << mib(rss_idle) << " MiB, peak " << mib(rss_peak)
                      << " MiB, after closing " << mib(rss_retained) << " MiB, after malloc_trim " << mib(rss_after)
                     << " MiB (growth " << mib(rss_growth) << " MiB, bound " << mib(rss_bound) << " MiB)");
  CHECK(state->failures.empty());
  CHECK(state->escaped.empty());
  CHECK(state->intact == connections);
  CHECK(state->server_finished == connections);
  CHECK(state->bytes_sent > 0);
  CHECK(fds_peak >= fds_before + 2 * connections);  // they really were all open at once
  CHECK(fds_after == fds_before);
  CHECK(rss_growth < rss_bound);
}
