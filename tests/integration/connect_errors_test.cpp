// tests/integration/connect_errors_test.cpp: open_connection over several addresses reports every failed attempt.
// SPDX-License-Identifier: BSL-1.0
//
// What asyncio does, checked with Python 3.11.7 (asyncio.open_connection,
// getaddrinfo patched to give ::1 then 127.0.0.1, nothing listening):
// - ::1 and 127.0.0.1 both refused, with or without happy_eyeballs_delay:
//   OSError, errno None, "Multiple exceptions: [Errno 111] Connect call failed
//   ('::1', P, 0, 0), [Errno 111] Connect call failed ('127.0.0.1', P)".
//   Its "same error" rule compares str(exc), and that names the address, so
//   two addresses refusing alike are still "Multiple exceptions".
// - 127.0.0.1 given twice, both refused: the first ConnectionRefusedError
//   itself (errno 111), the messages being equal.
// - One address: ConnectionRefusedError, errno 111.
// - local_addr ("::1", 0): ::1 refused, the IPv4 attempt fails before
//   connecting; "Multiple exceptions: [Errno 111] Connect call failed
//   ('::1', P, 0, 0), no matching local address with family=AF_INET found".
// costream's connect_error lists the attempts as asyncio's message does, and
// its code() is the first attempt's error (the shared one when all agree):
// asyncio's combined OSError has no errno to copy.
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace costream;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

bool have_ipv6_loopback() {
  asio::io_context io;
  tcp::acceptor a(io);
  costream::error_code ec;
  a.open(tcp::v6(), ec);
  if (!ec) a.bind({asio::ip::make_address("::1"), 0}, ec);
  return !ec;
}

// What one open_connection call ended with.
struct outcome {
  bool connected = false;
  std::optional<std::vector<connect_error::attempt>> attempts;  // set when it threw connect_error
  costream::error_code code;
  std::string what;
  bool same_error = false;
};

asio::awaitable<outcome> try_connect(std::vector<tcp::endpoint> endpoints, connection_options options) {
  outcome result;
  try {
    auto connection = co_await open_connection(std::move(endpoints), options);
    result.connected = true;
  } catch (const connect_error& e) {
    result.attempts = e.attempts();
    result.code = e.code();
    result.what = e.what();
    result.same_error = e.same_error();
  } catch (const costream::system_error& e) {
    result.code = e.code();
    result.what = e.what();
  }
  co_return result;
}

asio::awaitable<costream::error_code> no_throw_code(std::vector<tcp::endpoint> endpoints, connection_options options) {
  costream::error_code ec;
  auto connection = co_await with_error_code(open_connection(std::move(endpoints), options), ec);
  if (connection) ec = make_error_code(std::errc::already_connected);  // a connection where none should be
  co_return ec;
}

std::string refused_message() { return costream::error_code(asio::error::connection_refused).message(); }

}  // namespace

TEST_CASE("open_connection to ::1 and 127.0.0.1 that both refuse reports both attempts and connection_refused",
          "[tcp][connect-errors][ipv6]") {
  if (!have_ipv6_loopback()) test::skip("this machine has no ::1; the test needs an IPv6 and an IPv4 address");
  const test::refusing_port v6_port("::1");
  const tcp::endpoint v6 = v6_port.endpoint();
  const test::refusing_port v4_port("127.0.0.1");
  const tcp::endpoint v4 = v4_port.endpoint();
  connection_options options;
  SECTION("one address after another") {}
  SECTION("with Happy Eyeballs") { options.happy_eyeballs_delay = 50ms; }
  // Built here, not in the coroutine: g++ 12 cannot copy an endpoint from a
  // braced list inside a coroutine ("array used as initializer").
  const std::vector<tcp::endpoint> endpoints{v6, v4};
  outcome seen;
  costream::error_code no_throw;
  test::run([&]() -> asio::awaitable<void> {
    seen = co_await try_connect(endpoints, options);
    no_throw = co_await no_throw_code(endpoints, options);
  });
  CHECK_FALSE(seen.connected);
  REQUIRE(seen.attempts);
  const std::vector<connect_error::attempt> expected{{v6, asio::error::connection_refused},
                                                     {v4, asio::error::connection_refused}};
  CHECK(*seen.attempts == expected);
  CHECK(seen.same_error);
  CHECK(seen.code == asio::error::connection_refused);
  CHECK(no_throw == asio::error::connection_refused);
  // The message names both, as asyncio's does for two addresses.
  CHECK(seen.what == "Multiple exceptions: [::1]:" + std::to_string(v6.port()) + ": " + refused_message() +
                         "; 127.0.0.1:" + std::to_string(v4.port()) + ": " + refused_message());
}

TEST_CASE("attempts that fail differently are all listed and the code is the first attempt's error",
          "[tcp][connect-errors][ipv6]") {
  if (!have_ipv6_loopback()) test::skip("this machine has no ::1; the test needs an IPv6 and an IPv4 address");
  const test::refusing_port v6_port("::1");
  const tcp::endpoint v6 = v6_port.endpoint();
  const test::refusing_port v4_port("127.0.0.1");
  const tcp::endpoint v4 = v4_port.endpoint();
  // Bound to ::1, the IPv6 attempt connects and is refused; the IPv4
  // attempt cannot bind to an IPv6 address (Linux: EAFNOSUPPORT) and fails
  // before connecting, as asyncio's did with local_addr ("::1", 0).
  connection_options options;
  options.local_address = tcp::endpoint(asio::ip::make_address("::1"), 0);
  SECTION("one address after another") {}
  SECTION("with Happy Eyeballs") { options.happy_eyeballs_delay = 50ms; }
  // Built here, not in the coroutine: g++ 12 cannot copy an endpoint from a
  // braced list inside a coroutine ("array used as initializer").
  const std::vector<tcp::endpoint> endpoints{v6, v4};
  outcome seen;
  costream::error_code no_throw;
  test::run([&]() -> asio::awaitable<void> {
    seen = co_await try_connect(endpoints, options);
    no_throw = co_await no_throw_code(endpoints, options);
  });
  CHECK_FALSE(seen.connected);
  REQUIRE(seen.attempts);
  REQUIRE(seen.attempts->size() == 2);
  const connect_error::attempt first = (*seen.attempts)[0], second = (*seen.attempts)[1];
  CHECK(first.endpoint == v6);
  CHECK(first.code == asio::error::connection_refused);
  CHECK(second.endpoint == v4);
  INFO("the IPv4 attempt failed with: " << second.code.message());
  CHECK(second.code);
  CHECK(second.code != asio::error::connection_refused);
  CHECK_FALSE(seen.same_error);
  CHECK(seen.code == asio::error::connection_refused);
  CHECK(no_throw == asio::error::connection_refused);
  CHECK(seen.what == "Multiple exceptions: [::1]:" + std::to_string(v6.port()) + ": " + refused_message() +
                         "; 127.0.0.1:" + std::to_string(v4.port()) + ": " + second.code.message());
}

TEST_CASE("open_connection to one address that refuses reports connection_refused as before",
          "[tcp][connect-errors]") {
  const test::refusing_port v4_port("127.0.0.1");
  const tcp::endpoint v4 = v4_port.endpoint();
  const std::vector<tcp::endpoint> endpoints{v4};
  outcome seen, by_name;
  costream::error_code no_throw;
  test::run([&]() -> asio::awaitable<void> {
    seen = co_await try_connect(endpoints, {});
    no_throw = co_await no_throw_code(endpoints, {});
    // Through the resolver: "127.0.0.1" names one address.
    try {
      auto connection = co_await open_connection("127.0.0.1", v4.port());
      by_name.connected = true;
    } catch (const costream::system_error& e) {  // the catch sites written before connect_error
      by_name.code = e.code();
      by_name.what = e.what();
    }
  });
  CHECK_FALSE(seen.connected);
  REQUIRE(seen.attempts);
  CHECK(*seen.attempts == std::vector<connect_error::attempt>{{v4, asio::error::connection_refused}});
  CHECK(seen.same_error);
  CHECK(seen.code == asio::error::connection_refused);
  CHECK(seen.what == "open_connection: 127.0.0.1:" + std::to_string(v4.port()) + ": " + refused_message());
  CHECK(no_throw == asio::error::connection_refused);
  CHECK_FALSE(by_name.connected);
  CHECK(by_name.code == asio::error::connection_refused);
  CHECK(by_name.what == seen.what);
}

TEST_CASE("connect_timeout still reports errc::timed_out when an earlier attempt was refused",
          "[tcp][connect-errors][timeout][ipv6]") {
  if (!have_ipv6_loopback()) test::skip("this machine has no ::1; the test needs an IPv6 and an IPv4 address");
  const test::refusing_port refusing_port("::1");
  const tcp::endpoint refusing = refusing_port.endpoint();
  outcome seen;
  costream::error_code no_throw;
  std::chrono::steady_clock::duration took{};
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    // An address that never answers: a listener whose accept queue (backlog
    // 0 holds one) is full, so the kernel drops further SYNs.
    tcp::acceptor stuck(executor, tcp::v4());
    stuck.bind({asio::ip::make_address("127.0.0.1"), 0});
    stuck.listen(0);
    tcp::socket filler(executor);
    filler.connect(stuck.local_endpoint());

    connection_options options;
    options.happy_eyeballs_delay = 50ms;
    options.connect_timeout = 300ms;
    std::vector<tcp::endpoint> endpoints;
    endpoints.push_back(refusing);
    endpoints.push_back(stuck.local_endpoint());
    const auto start = std::chrono::steady_clock::now();
    seen = co_await try_connect(endpoints, options);
    took = std::chrono::steady_clock::now() - start;
    no_throw = co_await no_throw_code(endpoints, options);
  });
  CHECK_FALSE(seen.connected);
  CHECK_FALSE(seen.attempts);  // a plain system_error, as before
  CHECK(seen.code == errc::timed_out);
  CHECK(no_throw == errc::timed_out);
  CHECK(took >= 290ms);
  CHECK(took < 5s);
}
