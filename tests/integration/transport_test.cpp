// tests/integration/transport_test.cpp: Unix sockets, IPv6 loopback and Happy Eyeballs over real sockets.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <cerrno>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>
#include <vector>

using namespace costream;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

std::string temp_socket_path(const char* name) {
  return "/tmp/costream-test-" + std::to_string(::getpid()) + "-" + name + ".sock";
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

bool have_ipv6_loopback() {
  asio::io_context io;
  tcp::acceptor a(io);
  costream::error_code ec;
  a.open(tcp::v6(), ec);
  if (!ec) a.bind({asio::ip::make_address("::1"), 0}, ec);
  return !ec;
}

asio::awaitable<void> echo_lines(unix_stream_reader reader, unix_stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);
    co_await writer.drain();
  }
}

}  // namespace

TEST_CASE("a Unix socket server echoes lines and exact-size chunks", "[unix]") {
  const std::string path = temp_socket_path("echo");
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_unix_server(echo_lines, path);
    CHECK(file_exists(path));
    auto [reader, writer] = co_await open_unix_connection(path);
    writer.write("one\ntwo\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "one\n");
    }
    {
      auto got = co_await reader.readexactly(4);
      CHECK(got == "two\n");
    }
    writer.write_eof();
    {
      auto got = co_await reader.read();
      CHECK(got == "");
    }
    server.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("start_unix_server removes its socket file on close", "[unix]") {
  const std::string path = temp_socket_path("cleanup");
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_unix_server([](unix_stream_reader, unix_stream_writer) {}, path);
    REQUIRE(file_exists(path));
    server.close();
    co_await server.wait_closed();
    CHECK_FALSE(file_exists(path));
  });
}

TEST_CASE("start_unix_server replaces a stale socket file left by a dead server", "[unix]") {
  const std::string path = temp_socket_path("stale");
  {
    // A listener that goes away without removing its file, as a crashed server would.
    asio::io_context io;
    asio::local::stream_protocol::acceptor dead(io, asio::local::stream_protocol::endpoint(path));
  }
  REQUIRE(file_exists(path));
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_unix_server(
        [](unix_stream_reader, unix_stream_writer writer) -> asio::awaitable<void> {
          writer.write("fresh\n");
          co_return;
        },
        path);
    auto [reader, writer] = co_await open_unix_connection(path);
    {
      auto got = co_await reader.readline();
      CHECK(got == "fresh\n");
    }
    server.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("start_unix_server refuses a path that is a regular file", "[unix]") {
  const std::string path = temp_socket_path("regular");
  { std::ofstream(path) << "not a socket"; }
  test::run([&]() -> asio::awaitable<void> {
    costream::error_code code;
    try {
      auto server = co_await start_unix_server([](unix_stream_reader, unix_stream_writer) {}, path);
    } catch (const costream::system_error& e) {
      code = e.code();
    }
    CHECK(code == asio::error::address_in_use);
  });
  CHECK(file_exists(path));  // left alone
  ::unlink(path.c_str());
}

TEST_CASE("a Unix server on a Linux abstract-namespace path needs no file", "[unix]") {
  const std::string path = std::string("\0costream-test-", 15) + std::to_string(::getpid());
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_unix_server(echo_lines, path);
    auto [reader, writer] = co_await open_unix_connection(path);
    writer.write("abstract\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "abstract\n");
    }
  });
}

TEST_CASE("open_unix_connection to a missing path throws a system_error", "[unix]") {
  test::run([&]() -> asio::awaitable<void> {
    costream::error_code code;
    try {
      co_await open_unix_connection(temp_socket_path("missing"));
    } catch (const costream::system_error& e) {
      code = e.code();
    }
    CHECK(code.value() == ENOENT);
  });
}

TEST_CASE("a TCP server and client talk over IPv6 loopback", "[tcp][ipv6]") {
  if (!have_ipv6_loopback()) {
    test::skip("this machine has no ::1; the IPv6 test cannot run here");
  }
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(
        [](stream_reader reader, stream_writer writer) -> asio::awaitable<void> {
          writer.write("v6:" + co_await reader.readline());
        },
        "::1", 0);
    REQUIRE(server.sockets().size() == 1);
    CHECK(server.sockets()[0].address().is_v6());
    auto [reader, writer] = co_await open_connection("::1", server.sockets()[0].port());
    writer.write("ping\n");
    {
      auto got = co_await reader.readline();
      CHECK(got == "v6:ping\n");
    }
    CHECK(writer.remote_endpoint().address().is_v6());
  });
}

TEST_CASE("start_server with an empty host listens on IPv4 and IPv6 on one port", "[tcp][ipv6]") {
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(
        [](stream_reader, stream_writer writer) { writer.write("hello\n"); }, "", 0);
    REQUIRE_FALSE(server.sockets().empty());
    const auto port = server.sockets()[0].port();
    for (const auto& endpoint : server.sockets()) CHECK(endpoint.port() == port);
    auto v4 = co_await open_connection("127.0.0.1", port);
    {
      auto got = co_await v4.reader.readline();
      CHECK(got == "hello\n");
    }
    if (have_ipv6_loopback()) {
      CHECK(server.sockets().size() == 2);
      auto v6 = co_await open_connection("::1", port);
      {
        auto got = co_await v6.reader.readline();
        CHECK(got == "hello\n");
      }
    }
  });
}

TEST_CASE("open_connection with Happy Eyeballs connects through the second address after the delay",
          "[tcp][happy-eyeballs]") {
  if (!have_ipv6_loopback()) {
    test::skip("this machine has no ::1; the Happy Eyeballs test needs it for the address that never answers");
  }
  test::run([&]() -> asio::awaitable<void> {
    using namespace asio::experimental::awaitable_operators;
    auto executor = co_await asio::this_coro::executor;
    // An address that never answers: a listener whose accept queue is full,
    // so the kernel drops further SYNs and a connect to it just waits.
    tcp::acceptor stuck(executor, tcp::v6());
    stuck.set_option(asio::ip::v6_only(true));
    stuck.bind({asio::ip::make_address("::1"), 0});
    stuck.listen(0);
    tcp::socket filler(executor);
    filler.connect(stuck.local_endpoint());

    auto server = co_await start_server([](stream_reader, stream_writer writer) { writer.write("won\n"); },
                                        "127.0.0.1", 0);
    const std::vector<tcp::endpoint> endpoints{stuck.local_endpoint(), server.sockets()[0]};

    SECTION("with a 250 ms delay the connection arrives after about the delay") {
      connection_options options;
      options.happy_eyeballs_delay = 250ms;
      const auto start = std::chrono::steady_clock::now();
      auto [reader, writer] = co_await open_connection(endpoints, options);
      const auto took = std::chrono::steady_clock::now() - start;
      CHECK(writer.remote_endpoint() == server.sockets()[0]);
      {
        auto got = co_await reader.readline();
        CHECK(got == "won\n");
      }
      CHECK(took >= 240ms);
      CHECK(took < 2s);  // far below the connect timeout of the stuck address
    }
    SECTION("without it the attempts run one after another and the first one just waits") {
      asio::steady_timer timer(executor, 1500ms);
      auto first = co_await (open_connection(endpoints) || timer.async_wait(asio::use_awaitable));
      CHECK(first.index() == 1);  // the timer won; open_connection was cancelled
    }
  });
}

TEST_CASE("interleave alternates address families, the first family leading", "[tcp][happy-eyeballs]") {
  auto v4 = [](int i) { return tcp::endpoint(asio::ip::make_address("127.0.0." + std::to_string(i)), 1); };
  auto v6 = [](int i) { return tcp::endpoint(asio::ip::make_address("::" + std::to_string(i)), 1); };
  const std::vector<tcp::endpoint> resolved{v6(1), v6(2), v6(3), v4(1), v4(2)};
  CHECK(detail::interleave_families(resolved, 0) == resolved);
  CHECK(detail::interleave_families(resolved, 1) == std::vector<tcp::endpoint>{v6(1), v4(1), v6(2), v4(2), v6(3)});
  CHECK(detail::interleave_families(resolved, 2) == std::vector<tcp::endpoint>{v6(1), v6(2), v4(1), v6(3), v4(2)});
}

TEST_CASE("open_connection with Happy Eyeballs reports connection_refused when its one address refuses", "[tcp]") {
  test::run([&]() -> asio::awaitable<void> {
    // A port that was just free: bind, note, close.
    asio::ip::port_type port;
    {
      tcp::acceptor probe(co_await asio::this_coro::executor, {asio::ip::make_address("127.0.0.1"), 0});
      port = probe.local_endpoint().port();
    }
    std::vector<tcp::endpoint> endpoints;
    endpoints.emplace_back(asio::ip::make_address("127.0.0.1"), port);
    connection_options options;
    options.happy_eyeballs_delay = 50ms;
    costream::error_code code;
    try {
      co_await open_connection(endpoints, options);
    } catch (const costream::system_error& e) {
      code = e.code();
    }
    CHECK(code == asio::error::connection_refused);
  });
}

TEST_CASE("connect_timeout gives up on an address that never answers with errc::timed_out", "[tcp][timeout]") {
  costream::error_code ec;
  std::chrono::steady_clock::duration took{};
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    // A listener whose accept queue is full: the kernel drops further SYNs.
    tcp::acceptor stuck(executor, tcp::v4());
    stuck.bind({asio::ip::make_address("127.0.0.1"), 0});
    stuck.listen(0);
    tcp::socket filler(executor);
    filler.connect(stuck.local_endpoint());  // the queue (backlog 0 holds one) is full now

    connection_options options;
    options.connect_timeout = 200ms;
    const auto start = std::chrono::steady_clock::now();
    try {
      auto connection = co_await open_connection(stuck.local_endpoint(), options);
      (void)connection;
    } catch (const costream::system_error& e) {
      ec = e.code();
    }
    took = std::chrono::steady_clock::now() - start;
  });
  CHECK(ec == errc::timed_out);
  CHECK(took >= 190ms);
  CHECK(took < 5s);
}

TEST_CASE("reuse_port lets two servers listen on one port and both get connections", "[tcp][server]") {
  int first_served = 0, second_served = 0;
  test::run([&]() -> asio::awaitable<void> {
    server_options options;
    options.reuse_port = true;
    auto count_first = [&](stream_reader, stream_writer writer) {
      ++first_served;
      writer.write("first\n");
    };
    auto count_second = [&](stream_reader, stream_writer writer) {
      ++second_served;
      writer.write("second\n");
    };
    auto first = co_await start_server(count_first, "127.0.0.1", 0, options);
    const auto port = first.sockets()[0].port();
    auto second = co_await start_server(count_second, "127.0.0.1", port, options);
    CHECK(second.sockets()[0].port() == port);
    // The kernel spreads connections by a hash of the peer's address and port;
    // enough connections reach both servers.
    for (int i = 0; i < 64 && (first_served == 0 || second_served == 0); ++i) {
      auto [reader, writer] = co_await open_connection("127.0.0.1", port);
      const std::string reply = co_await reader.readline();
      CHECK((reply == "first\n" || reply == "second\n"));
    }
  });
  CHECK(first_served > 0);
  CHECK(second_served > 0);
}

TEST_CASE("start_server with a list of hosts listens on each, all on one port", "[tcp][server][ipv6]") {
  if (!have_ipv6_loopback()) test::skip("this machine has no ::1; the test listens on 127.0.0.1 and ::1");
  std::vector<std::string> replies;
  test::run([&]() -> asio::awaitable<void> {
    auto greet = [](stream_reader, stream_writer writer) { writer.write(writer.local_endpoint().address().to_string() + "\n"); };
    std::vector<std::string> hosts{"127.0.0.1", "::1"};
    auto server = co_await start_server(greet, hosts, 0);
    REQUIRE(server.sockets().size() == 2);
    CHECK(server.sockets()[0].port() == server.sockets()[1].port());
    for (const auto& endpoint : server.sockets()) {
      auto [reader, writer] = co_await open_connection(endpoint);
      replies.push_back(co_await reader.readline());
    }
    server.close();
    co_await server.wait_closed();
  });
  CHECK(replies == std::vector<std::string>{"127.0.0.1\n", "::1\n"});
}

TEST_CASE("the reader and writer work over any Asio stream: both ends of local::connect_pair", "[stream]") {
  std::string line, block, rest;
  bool eof = false;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    asio::local::stream_protocol::socket a(executor), b(executor);
    asio::local::connect_pair(a, b);
    auto left = make_connection(std::move(a), 1024);
    auto right = make_connection(std::move(b), 1024);
    left.writer.write("hello over a socket pair\n");
    left.writer.write(std::string(100000, 'x'));
    left.writer.write_eof();
    co_await left.writer.drain();
    line = co_await right.reader.readline();
    block = co_await right.reader.readexactly(100000);
    rest = co_await right.reader.read();
    eof = right.reader.at_eof();
    // And back the other way, after the half-close.
    right.writer.write("reply\n");
    right.writer.close();
    const std::string reply = co_await left.reader.readline();
    CHECK(reply == "reply\n");
  });
  CHECK(line == "hello over a socket pair\n");
  CHECK(block == std::string(100000, 'x'));
  CHECK(rest.empty());
  CHECK(eof);
}

#if COSTREAM_ASIO_VERSION >= 103800
// Asio 1.38's reactor option reset_edge_on_partial_read: a short read uses up
// the socket's readiness edge, so the read the transport queues after it
// waits for epoll instead of trying the socket at once (README, "Benchmarks":
// one system call less per unpipelined request). Continuous reading must
// lose nothing under it: a line cut by pauses, a line longer than the
// connection's 64-byte room, a pipelined batch, and the end of the stream.
TEST_CASE("a connection on an io_context with reactor.reset_edge_on_partial_read loses no byte", "[tcp][server]") {
  asio::io_context io{asio::config_from_string{"reactor.reset_edge_on_partial_read=1"}};
  test::run_on(io, [&]() -> asio::awaitable<void> {
    auto echo = [](stream_reader reader, stream_writer writer) -> asio::awaitable<void> {
      for (std::string line; !(line = co_await reader.readline()).empty();) {
        writer.write(line);
        co_await writer.drain();
      }
    };
    auto server = co_await start_server(echo, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", server.sockets()[0].port());
    asio::steady_timer pause(co_await asio::this_coro::executor);
    const std::string long_line = std::string(1000, 'x') + "\n";
    const std::vector<std::string> pieces = {"PI", "NG\nsecond ", "line\n", long_line.substr(0, 10),
                                             long_line.substr(10, 500), long_line.substr(510)};
    for (const std::string& piece : pieces) {
      writer.write(piece);
      co_await writer.drain();
      pause.expires_after(20ms);
      co_await pause.async_wait(asio::use_awaitable);
    }
    std::string batch;
    for (int i = 0; i < 500; ++i) batch += "line " + std::to_string(i) + "\n";
    writer.write(batch);
    writer.write_eof();
    std::string echoed;
    for (std::string line; !(line = co_await reader.readline()).empty();) echoed += line;
    CHECK(echoed == "PING\nsecond line\n" + long_line + batch);
    CHECK(reader.at_eof());
    server.close();
    co_await server.wait_closed();
  });
}
#endif
