// tests/integration/fault_soak_test.cpp: the checksummed echo soak under injected system-call faults
// (short counts, EINTR, EAGAIN, resets, failed accepts) from tests/faults/fault_injector.c.
// SPDX-License-Identifier: BSL-1.0
#include "support/byte_pools.hpp"
#include "support/catch.hpp"
#include "support/echo_soak.hpp"
#include "support/hostile.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include "faults/fault_injector.h"

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <dlfcn.h>

// These tests mean something only with the injector preloaded: they are
// hidden from discovery ([.]) and CTest runs each with LD_PRELOAD and
// COSTREAM_FAULTS set (tests/CMakeLists.txt, "faults: ..."). Run by hand
// without the injector, they fail: a test that injected nothing must not pass.
//
// Each runs one soak: `connections` costream clients talk at once to a
// costream echo server in the same process, each sending rounds of lines and
// exact-size blocks of random bytes and reading the echoes concurrently
// (readline / readexactly); both sides checksum what they sent and got
// (FNV-1a). Then, per connection: one the injector did not reset got every
// byte back once and in order, and the server's checksum agrees; one it reset
// ended with a typed error on the client's side, and on the server's side
// too unless the reset came after the server's last read. Every wait is
// bounded (a hang fails the test), and every descriptor is closed again.

using namespace costream;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t connections = 48;
constexpr int rounds = 2;
constexpr int lines_per_round = 8;
constexpr std::size_t max_line = 300;
constexpr std::size_t max_block = 16 * 1024;
constexpr auto op_timeout = 20s;  // any single wait; far above what a round takes
constexpr test::soak_shape shape{rounds, lines_per_round, max_line, max_block};

// The preloaded injector's exports.
struct injector {
  costream_faults_counts_fn* counts_fn = nullptr;
  costream_faults_was_reset_fn* was_reset_fn = nullptr;

  costream_fault_counts counts() const {
    costream_fault_counts c{};
    counts_fn(&c);
    return c;
  }
  bool was_reset(unsigned a, unsigned b) const { return was_reset_fn(a, b) != 0; }
};

injector find_injector() {
  injector i;
  i.counts_fn = reinterpret_cast<costream_faults_counts_fn*>(::dlsym(RTLD_DEFAULT, COSTREAM_FAULTS_COUNTS));
  i.was_reset_fn = reinterpret_cast<costream_faults_was_reset_fn*>(::dlsym(RTLD_DEFAULT, COSTREAM_FAULTS_WAS_RESET));
  if (!i.counts_fn || !i.was_reset_fn)
    throw std::runtime_error("the fault injector is not loaded: run this test through CTest (LD_PRELOAD)");
  return i;
}

std::string fault_config() {
  const char* c = std::getenv("COSTREAM_FAULTS");
  return c ? c : "";
}

// How one side of one connection ended.
struct outcome {
  unsigned local_port = 0;
  unsigned remote_port = 0;
  bool done = false;
  bool intact = false;    // client: every byte echoed and the server's checksum agreed; server: clean end
  bool typed = false;     // ended with an error the library names (see typed_error)
  std::string error;      // what it ended with, if not intact
  std::uint64_t bytes = 0;  // client, intact: bytes sent (each echoed and checked)
};

// The errors a connection that the network resets may end with: a
// costream::system_error carrying the reset (ECONNRESET, or EPIPE on a write,
// or ENOTCONN asking a reset socket for its peer), or costream's own
// incomplete_read / connection_lost. A timeout is a hang, never typed.
bool typed_error(const error_code& ec) {
  if (ec == errc::timed_out) return false;
  const int e = system_errno(ec);
  return e == ECONNRESET || e == EPIPE || e == ENOTCONN || ec == errc::incomplete_read ||
         ec == errc::connection_lost;
}

void record_failure(outcome& o, std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const costream::system_error& error) {
    o.typed = typed_error(error.code());
    o.error = error.what();
  } catch (const std::exception& error) {
    o.error = std::string("untyped: ") + error.what();
  } catch (...) {
    o.error = "untyped: unknown exception";
  }
}

// Random bytes to cut lines and blocks from.
const test::byte_pools& pools() {
  static const test::byte_pools p(256 * 1024, 20261202);
  return p;
}

struct soak_state {
  std::vector<outcome> clients = std::vector<outcome>(connections);
  std::vector<outcome> servers;  // one per accepted connection, in accept order
  std::size_t clients_done = 0;
  std::size_t servers_done = 0;
  std::vector<std::string> escaped;  // what reached the server's error handler
};

// The echo server (support/echo_soak.hpp). Its end is recorded, never thrown.
asio::awaitable<void> echo(std::shared_ptr<soak_state> state, stream_reader reader, stream_writer writer) {
  state->servers.emplace_back();
  const std::size_t index = state->servers.size() - 1;
  outcome o;
  try {
    o.local_port = writer.local_endpoint().port();
    o.remote_port = writer.remote_endpoint().port();
    co_await test::serve_checksummed_echo(reader, writer, max_block, op_timeout);
    o.intact = true;
  } catch (...) {
    record_failure(o, std::current_exception());
  }
  o.done = true;
  state->servers[index] = o;
  ++state->servers_done;
}

asio::awaitable<void> client(std::shared_ptr<soak_state> state, std::uint16_t port, unsigned id) {
  outcome& o = state->clients[id];
  try {
    auto [reader, writer] = co_await with_timeout(open_connection(tcp::endpoint(test::loopback_v4(), port)), op_timeout);
    // No byte has moved yet, so the connection cannot have been reset.
    o.local_port = writer.local_endpoint().port();
    o.remote_port = writer.remote_endpoint().port();
    test::fnv1a sent;
    test::fnv1a got;
    std::string sum;
    {
      using namespace asio::experimental::awaitable_operators;
      co_await with_timeout(test::send_rounds(writer, id, pools(), shape, sent) && test::receive_echoes(reader, got, sum),
                            op_timeout);
    }
    writer.write_eof();
    const std::string rest = co_await with_timeout(reader.read(), op_timeout);  // the server closes after our end
    writer.close();
    co_await with_timeout(writer.wait_closed(), op_timeout);
    o.error = test::echo_mismatch(sent, got, sum, rest);
    if (o.error.empty()) {
      o.intact = true;
      o.bytes = sent.bytes;
    }
  } catch (...) {
    record_failure(o, std::current_exception());
  }
  o.done = true;
  ++state->clients_done;
}

struct soak_result {
  std::vector<outcome> clients;
  std::vector<outcome> servers;
  std::vector<std::string> escaped;
  bool finished = false;  // every client and server callback ended within the bound
  bool serving = false;   // the server still accepted at the end
  std::size_t fds_before = 0;
  std::size_t fds_after = 0;
  std::chrono::milliseconds time{0};
  costream_fault_counts injected{};
};

soak_result run_soak(const injector& inj) {
  (void)pools();
  soak_result result;
  auto state = std::make_shared<soak_state>();
  result.fds_before = test::count_open_fds();
  const auto started = std::chrono::steady_clock::now();
  test::run(
      [&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        const std::size_t fds_in_run = test::count_open_fds();  // the io_context's own included
        server_options options;
        options.backlog = 256;
        // Made before the co_await: g++ 12 destroys a lambda temporary of a
        // co_await expression twice, releasing its shared_ptr one time too many.
        std::function<asio::awaitable<void>(stream_reader, stream_writer)> callback =
            [state](stream_reader r, stream_writer w) { return echo(state, std::move(r), std::move(w)); };
        auto srv = co_await start_server(callback, "127.0.0.1", 0, options);
        srv.set_error_handler([state](std::exception_ptr e) {
          try {
            std::rethrow_exception(e);
          } catch (const costream::system_error& error) {
            const int code = system_errno(error.code());
            const bool typed = typed_error(error.code()) || code == ENOBUFS || code == ENOMEM || code == EMFILE;
            state->escaped.push_back((typed ? "" : "untyped: ") + std::string(error.what()));
          } catch (const std::exception& error) {
            state->escaped.push_back(std::string("untyped: ") + error.what());
          }
        });
        const std::uint16_t port = srv.sockets()[0].port();
        for (unsigned id = 0; id < connections; ++id) asio::co_spawn(executor, client(state, port, id), asio::detached);
        std::function<bool()> all_done = [&] {
          return state->clients_done == connections && state->servers_done == state->servers.size();
        };
        result.finished = co_await test::eventually(all_done, 40s);
        result.serving = srv.is_serving();
        srv.close();
        co_await with_timeout(srv.wait_closed(), 10s);
        std::function<bool()> released = [&] { return test::count_open_fds() <= fds_in_run; };
        co_await test::eventually(released, 5s);
      },
      60s);
  result.time = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
  result.fds_after = test::count_open_fds();
  result.injected = inj.counts();
  result.clients = state->clients;
  result.servers = state->servers;
  result.escaped = state->escaped;
  return result;
}

struct tally {
  std::size_t intact = 0;
  std::size_t failed = 0;
  std::uint64_t bytes = 0;
};

tally count(const std::vector<outcome>& clients) {
  tally t;
  for (const outcome& o : clients) {
    if (o.intact) {
      ++t.intact;
      t.bytes += o.bytes;
    } else {
      ++t.failed;
    }
  }
  return t;
}

// One line per run, for the record: fault, rates, outcome.
void summary(std::string_view family, const soak_result& r, std::size_t reset) {
  const tally t = count(r.clients);
  const costream_fault_counts& c = r.injected;
  std::cout << "faults: " << family << " [" << fault_config() << "]: " << connections << " connections, "
            << t.bytes << " bytes sent and echoed, every byte checked (" << 2 * t.bytes << " both ways); " << t.failed
            << " connections failed (" << reset << " reset by the injector); injected: " << c.short_counts
            << " short, " << c.eintr << " EINTR, " << c.eagain << " EAGAIN, " << c.econnreset << " ECONNRESET, "
            << c.epipe << " EPIPE, " << c.accept_enobufs << "/" << c.accept_enomem << "/" << c.accept_emfile
            << " accept ENOBUFS/ENOMEM/EMFILE, " << c.epoll_eintr << " epoll EINTR, " << c.rearmed << " re-armed, of "
            << c.calls << " calls; time " << r.time.count() << " ms; fds " << r.fds_before << " before, "
            << r.fds_after << " after\n";
}

std::string first_failure(const std::vector<outcome>& outcomes) {
  for (const outcome& o : outcomes) {
    if (!o.intact) return "port " + std::to_string(o.local_port) + ": " + (o.done ? o.error : "never ended");
  }
  return "none";
}

std::string failures(const soak_result& r) {
  return "first client failure: " + first_failure(r.clients) + "; first server failure: " + first_failure(r.servers) +
         "; first escaped: " + (r.escaped.empty() ? std::string("none") : r.escaped.front());
}

// What every run must show.
void check_common(const soak_result& r) {
  CHECK(r.finished);
  CHECK(r.fds_after == r.fds_before);
  CHECK(r.injected.calls > 0);
  for (const outcome& o : r.clients) CHECK(o.done);
  for (const std::string& e : r.escaped) CHECK_FALSE(e.starts_with("untyped"));
}

// What a run with no connection reset must show: every connection intact on both sides.
void check_all_intact(const soak_result& r) {
  CHECK(count(r.clients).intact == connections);
  CHECK(r.servers.size() == connections);
  for (const outcome& o : r.servers) CHECK(o.intact);
}

}  // namespace

TEST_CASE("under short counts, EINTR and EAGAIN every byte arrives once and in order", "[.][faults][short_counts]") {
  const injector inj = find_injector();
  const soak_result r = run_soak(inj);
  INFO(failures(r));
  summary("short counts, EINTR, EAGAIN", r, 0);
  check_common(r);
  check_all_intact(r);
  CHECK(r.escaped.empty());
  CHECK(r.injected.short_counts > 0);
  CHECK(r.injected.eintr > 0);
  CHECK(r.injected.eagain > 0);
  CHECK(r.injected.epoll_eintr > 0);
  CHECK(r.injected.connections_reset == 0);
}

TEST_CASE("reset connections end with a typed error and leave the others intact", "[.][faults][resets]") {
  const injector inj = find_injector();
  const soak_result r = run_soak(inj);
  INFO(failures(r));
  std::size_t reset = 0;
  for (const outcome& o : r.clients) {
    const bool was_reset = inj.was_reset(o.local_port, o.remote_port);
    if (was_reset) ++reset;
    INFO("client port " << o.local_port << ": " << (was_reset ? "reset" : "not reset") << ", "
                        << (o.intact ? std::string("intact") : o.error));
    if (was_reset) {
      CHECK_FALSE(o.intact);
      CHECK(o.typed);
    } else {
      CHECK(o.intact);
    }
  }
  // The server's side of a connection the injector did not reset ends
  // cleanly; of one it reset, with a typed error (or cleanly, when the reset
  // came after the server's last read).
  std::size_t server_failed = 0;
  for (const outcome& o : r.servers) {
    INFO("server port " << o.remote_port << ": " << (o.intact ? std::string("intact") : o.error));
    if (o.intact) continue;
    ++server_failed;
    CHECK(o.typed);
    if (o.remote_port != 0) CHECK(inj.was_reset(o.local_port, o.remote_port));
  }
  summary("resets", r, reset);
  check_common(r);
  CHECK(reset == r.injected.connections_reset);
  CHECK(reset > 0);
  CHECK(reset < connections);  // some connections were spared, and were untouched
  CHECK(server_failed <= reset);
  CHECK(r.injected.econnreset + r.injected.epipe > 0);
}

TEST_CASE("failed accepts pause the server, which recovers and serves every client", "[.][faults][accept]") {
  const injector inj = find_injector();
  const soak_result r = run_soak(inj);
  INFO(failures(r));
  summary("accept errors", r, 0);
  check_common(r);  // every report reaching the error handler was one of the injected errors
  check_all_intact(r);
  CHECK(r.serving);
  CHECK(r.injected.accept_enobufs > 0);
  CHECK(r.injected.accept_enomem > 0);
  CHECK(r.injected.accept_emfile > 0);
}
