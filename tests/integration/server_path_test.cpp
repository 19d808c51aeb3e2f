// tests/integration/server_path_test.cpp: the serving path shared by TCP, Unix and TLS servers: keep_alive,
// serving from a socket made elsewhere (asyncio's sock=), wait_closed waiting for every connection, and a
// cancelled serve_forever.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>
#if defined(COSTREAM_TEST_TLS)
#include <costream/tls.hpp>
#endif

#include "support/net_all.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

using namespace costream;
using namespace std::chrono_literals;

namespace {

// ---- sockets made without costream ------------------------------------------

// A TCP socket bound to 127.0.0.1 with a kernel-chosen port, listening or not.
int raw_tcp_socket(bool listening) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = 0;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw std::system_error(errno, std::generic_category(), "bind");
  if (listening && ::listen(fd, 16) != 0) throw std::system_error(errno, std::generic_category(), "listen");
  return fd;
}

// A Unix stream socket bound to `path` and listening.
int raw_unix_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw std::system_error(errno, std::generic_category(), "bind");
  if (::listen(fd, 16) != 0) throw std::system_error(errno, std::generic_category(), "listen");
  return fd;
}

std::uint16_t port_of(int fd) {
  sockaddr_in address{};
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  return ntohs(address.sin_port);
}

bool flag_option(int fd, int option) {
  int value = 0;
  socklen_t size = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, option, &value, &size) != 0)
    throw std::system_error(errno, std::generic_category(), "getsockopt");
  return value != 0;
}

bool descriptor_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// A fresh temporary directory, removed (with the files the tests leave) at the end.
class temp_dir {
 public:
  temp_dir() {
    char name[] = "/tmp/costream-server-path-XXXXXX";
    if (::mkdtemp(name) == nullptr) throw std::system_error(errno, std::generic_category(), "mkdtemp");
    path_ = name;
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Range-for over a braced list inside a coroutine trips g++ 12: a named array.
constexpr const char* loopbacks[] = {"127.0.0.1", "::1"};

// ---- client callbacks -----------------------------------------------------------

// What a server's callbacks saw, shared with the test.
struct seen {
  std::vector<bool> keep_alive;  // SO_KEEPALIVE of each accepted socket
  int returned = 0;              // callbacks that returned
  std::vector<stream_writer> kept;  // writers a callback kept after returning
};

// Echoes lines until end of stream, noting SO_KEEPALIVE of its socket first.
asio::awaitable<void> note_and_echo(std::shared_ptr<seen> s, stream_reader reader, stream_writer writer) {
  s->keep_alive.push_back(flag_option(writer.stream().native_handle(), SO_KEEPALIVE));
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write(line);
    co_await writer.drain();
  }
  ++s->returned;
}

std::function<asio::awaitable<void>(stream_reader, stream_writer)> noting_echo(std::shared_ptr<seen> s) {
  return [s](stream_reader r, stream_writer w) { return note_and_echo(s, r, w); };
}

// A plain function that greets, keeps its writer (as a chat server keeps its
// members') and returns: its connection stays open.
std::function<void(stream_reader, stream_writer)> greet_and_keep(std::shared_ptr<seen> s) {
  return [s](stream_reader, stream_writer writer) {
    writer.write("hi\n");
    s->kept.push_back(writer);
    ++s->returned;
  };
}

// Sends one line and reads its echo.
asio::awaitable<std::string> echo_once(connection& c, std::string line) {
  c.writer.write(line);
  co_await c.writer.drain();
  co_return co_await c.reader.readline();
}

// Starts `op` on the current executor; `done` turns true when it ends, `failure` holds what it threw.
struct watched {
  bool done = false;
  std::exception_ptr failure;
};

void watch(const asio::any_io_executor& executor, asio::awaitable<void> op, watched& w) {
  asio::co_spawn(executor, std::move(op), [&w](std::exception_ptr e) {
    w.failure = e;
    w.done = true;
  });
}

costream::error_code code_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const costream::system_error& ex) {
    return ex.code();
  } catch (...) {
    return make_error_code(std::errc::invalid_argument);
  }
}

}  // namespace

// ---- keep_alive -----------------------------------------------------------------------

TEST_CASE("keep_alive is off by default and sets SO_KEEPALIVE on both ends when asked", "[server][keep_alive]") {
  test::run([&]() -> asio::awaitable<void> {
    for (int round = 0; round < 2; ++round) {
      const bool on = round == 1;
      auto s = std::make_shared<seen>();
      auto callback = noting_echo(s);
      server_options options;
      options.keep_alive = on;
      auto server = co_await start_server(callback, "127.0.0.1", 0, options);
      connection_options client_options;
      client_options.keep_alive = on;
      auto client = co_await open_connection(server.sockets()[0], client_options);
      const std::string echoed = co_await echo_once(client, "ka\n");
      CHECK(echoed == "ka\n");
      INFO("keep_alive " << on);
      CHECK(flag_option(client.writer.stream().native_handle(), SO_KEEPALIVE) == on);
      REQUIRE(s->keep_alive.size() == 1);
      CHECK(s->keep_alive[0] == on);
      client.writer.close();
      server.close();
      co_await server.wait_closed();
    }
  });
}

// ---- serving from a socket made elsewhere (asyncio's sock=) -----------------------------

TEST_CASE("a server serves from a listening socket made with socket(), bind() and listen()", "[server][sock]") {
  test::run([&]() -> asio::awaitable<void> {
    const int fd = raw_tcp_socket(true);
    const std::uint16_t port = port_of(fd);
    auto s = std::make_shared<seen>();
    auto callback = noting_echo(s);
    server_options options;
    options.keep_alive = true;  // the accepted sockets' options apply to an adopted listener's connections
    auto server = co_await start_server(callback, listening_socket(fd), options);
    REQUIRE(server.sockets().size() == 1);
    CHECK(server.sockets()[0].port() == port);
    CHECK(server.sockets()[0].address() == test::loopback_v4());
    CHECK(server.is_serving());

    auto client = co_await open_connection("127.0.0.1", port);
    const std::string echoed = co_await echo_once(client, "adopted\n");
    CHECK(echoed == "adopted\n");
    REQUIRE(s->keep_alive.size() == 1);
    CHECK(s->keep_alive[0]);

    client.writer.close();
    server.close();
    co_await server.wait_closed();
    // The server owned the socket: it is closed, and nobody answers on its port.
    costream::error_code refused;
    try {
      auto late = co_await open_connection("127.0.0.1", port);
    } catch (const costream::system_error& e) {
      refused = e.code();
    }
    CHECK(refused == asio::error::connection_refused);
  });
}

TEST_CASE("a bound socket that does not listen yet is made to listen", "[server][sock]") {
  test::run([&]() -> asio::awaitable<void> {
    const int fd = raw_tcp_socket(false);
    CHECK_FALSE(flag_option(fd, SO_ACCEPTCONN));
    auto s = std::make_shared<seen>();
    auto callback = noting_echo(s);
    auto server = co_await start_server(callback, listening_socket(fd));
    CHECK(flag_option(fd, SO_ACCEPTCONN));
    auto client = co_await open_connection(server.sockets()[0]);
    const std::string echoed = co_await echo_once(client, "now listening\n");
    CHECK(echoed == "now listening\n");
    client.writer.close();
    server.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("an Asio acceptor's descriptor serves, IPv4 and IPv6", "[server][sock]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    for (const char* address : loopbacks) {
      asio::ip::tcp::acceptor acceptor(executor);
      const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address), 0);
      costream::error_code ec;
      acceptor.open(endpoint.protocol(), ec);
      if (!ec) acceptor.bind(endpoint, ec);
      if (ec) {
        WARN("no " << address << " here: " << ec.message());
        continue;
      }
      acceptor.listen();
      auto s = std::make_shared<seen>();
      auto callback = noting_echo(s);
      auto server = co_await start_server(callback, listening_socket(acceptor.release()));
      CHECK(server.sockets()[0].address() == endpoint.address());
      auto client = co_await open_connection(server.sockets()[0]);
      const std::string echoed = co_await echo_once(client, std::string(address) + "\n");
      CHECK(echoed == std::string(address) + "\n");
      client.writer.close();
      server.close();
      co_await server.wait_closed();
    }
  });
}

TEST_CASE("a socket of the wrong kind is refused and stays open", "[server][sock]") {
  temp_dir dir;
  test::run([&]() -> asio::awaitable<void> {
    auto plain = [](stream_reader, stream_writer) {};
    auto unix_plain = [](unix_stream_reader, unix_stream_writer) {};

    // Whether starting a server on `fd` threw std::invalid_argument, and whether `fd` is still open.
    auto refused_and_open = [](asio::awaitable<void> start, int fd) -> asio::awaitable<std::pair<bool, bool>> {
      bool refused = false;
      try {
        co_await std::move(start);
      } catch (const std::invalid_argument&) {
        refused = true;
      }
      co_return std::pair(refused, descriptor_open(fd));
    };
    auto tcp_server_on = [&](int fd) -> asio::awaitable<void> { co_await start_server(plain, listening_socket(fd)); };
    auto unix_server_on = [&](int fd) -> asio::awaitable<void> {
      co_await start_unix_server(unix_plain, listening_socket(fd));
    };

    const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(udp >= 0);
    const auto [udp_refused, udp_open] = co_await refused_and_open(tcp_server_on(udp), udp);
    CHECK(udp_refused);
    CHECK(udp_open);
    ::close(udp);

    // A Unix socket is no TCP server's, and a TCP socket no Unix server's.
    const int unix_fd = raw_unix_socket(dir.file("wrong.sock"));
    const auto [unix_refused, unix_open] = co_await refused_and_open(tcp_server_on(unix_fd), unix_fd);
    CHECK(unix_refused);
    CHECK(unix_open);
    ::close(unix_fd);

    const int tcp_fd = raw_tcp_socket(true);
    const auto [tcp_refused, tcp_open] = co_await refused_and_open(unix_server_on(tcp_fd), tcp_fd);
    CHECK(tcp_refused);
    CHECK(tcp_open);
    ::close(tcp_fd);

    // A descriptor that is not open at all.
    costream::error_code bad;
    try {
      auto server = co_await start_server(plain, listening_socket(tcp_fd));
    } catch (const costream::system_error& e) {
      bad = e.code();
    }
    CHECK(bad == asio::error::bad_descriptor);
  });
}

TEST_CASE("a Unix server serves from a listening socket made elsewhere and leaves its file", "[server][sock][unix]") {
  temp_dir dir;
  const std::string path = dir.file("adopted.sock");
  test::run([&]() -> asio::awaitable<void> {
    const int fd = raw_unix_socket(path);
    auto echo = [](unix_stream_reader reader, unix_stream_writer writer) -> asio::awaitable<void> {
      writer.write("unix:" + co_await reader.readline());
      co_await writer.drain();
    };
    auto server = co_await start_unix_server(echo, listening_socket(fd));
    REQUIRE(server.sockets().size() == 1);
    CHECK(server.sockets()[0].path() == path);
    auto [reader, writer] = co_await open_unix_connection(path);
    writer.write("hello\n");
    const std::string reply = co_await reader.readline();
    CHECK(reply == "unix:hello\n");
    server.close();
    co_await server.wait_closed();
    // Its owner (systemd, say) made the file and may hand the socket out again.
    CHECK(file_exists(path));
  });
}

#if defined(COSTREAM_TEST_TLS)

namespace {

// A server context with a self-signed certificate for localhost, made by the
// openssl tool in `dir`.
asio::ssl::context self_signed_server_context(temp_dir& dir) {
  const std::string cert = dir.file("cert.pem");
  const std::string key = dir.file("key.pem");
  const std::string make_cert = std::string(COSTREAM_TEST_OPENSSL) +
                                " req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1"
                                " -subj /CN=localhost -keyout '" + key + "' -out '" + cert + "' 2>/dev/null";
  REQUIRE(std::system(make_cert.c_str()) == 0);
  asio::ssl::context server_ctx(asio::ssl::context::tls_server);
  server_ctx.use_certificate_chain_file(cert);
  server_ctx.use_private_key_file(key, asio::ssl::context::pem);
  return server_ctx;
}

}  // namespace

TEST_CASE("a TLS server serves from a listening socket made elsewhere", "[server][sock][tls]") {
  temp_dir dir;
  asio::ssl::context server_ctx = self_signed_server_context(dir);
  asio::ssl::context client_ctx(asio::ssl::context::tls_client);
  test::run([&]() -> asio::awaitable<void> {
    const int fd = raw_tcp_socket(true);
    auto echo = [](tls_stream_reader reader, tls_stream_writer writer) -> asio::awaitable<void> {
      writer.write("tls:" + co_await reader.readline());
      co_await writer.drain();
    };
    auto server = co_await start_server(echo, listening_socket(fd), {}, tls_options(server_ctx));
    tls_options tls(client_ctx);
    tls.verify_peer = false;
    auto [reader, writer] = co_await open_connection(server.sockets()[0], {}, tls);
    writer.write("hello\n");
    const std::string reply = co_await reader.readline();
    CHECK(reply == "tls:hello\n");
    writer.close();  // the server's close over TLS waits for the client's close_notify
    server.close();
    co_await server.wait_closed();
  });
}

TEST_CASE("close_clients and abort_clients end a TLS connection still in its handshake", "[server][tls]") {
  temp_dir dir;
  asio::ssl::context server_ctx = self_signed_server_context(dir);
  const bool abort = GENERATE(false, true);
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto never_called = [](tls_stream_reader, tls_stream_writer) {};
    auto server = co_await start_server(never_called, "127.0.0.1", 0, {}, tls_options(server_ctx));
    auto reports = std::make_shared<std::vector<std::string>>();
    server.set_error_handler([reports](std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        reports->push_back(ex.what());
      }
    });
    // A client that connects and never starts its handshake: the server's
    // waits for it (60 s by default).
    asio::ip::tcp::socket mute(executor);
    co_await mute.async_connect(server.sockets()[0], asio::use_awaitable);
    co_await test::sleep_for(100ms);  // accepted, handshake waiting

    server.close();
    if (abort) {
      server.abort_clients();
    } else {
      server.close_clients();
    }
    const bool closed = co_await test::completes_within(server.wait_closed(), 5s);
    CHECK(closed);
    // The mute client sees its connection closed.
    char byte = 0;
    auto [ec, n] = co_await mute.async_read_some(asio::buffer(&byte, 1), compat::use_tuple);
    CHECK(n == 0);
    CHECK(ec);
    co_await test::sleep_for(50ms);
    INFO(abort << " " << (reports->empty() ? "" : reports->front()));
    CHECK(reports->empty());  // a handshake the server stopped is no error
  });
}

#endif  // COSTREAM_TEST_TLS

// ---- wait_closed waits for every connection (asyncio 3.12+) -------------------------------
//
// asyncio 3.12 changed Server.wait_closed to wait until the server is closed
// and every connection made through it is gone (its transport's
// connection_lost ran); the Python 3.11 installed on CI still returns once
// the server is closed. These tests follow the 3.12+ behaviour; costream
// also waits for the client callbacks to return.

TEST_CASE("wait_closed waits for a connection whose plain-function callback returned but kept its writer",
          "[server][wait_closed]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto s = std::make_shared<seen>();
    auto callback = greet_and_keep(s);
    auto server = co_await start_server(callback, "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection(server.sockets()[0]);
    const std::string greeting = co_await reader.readline();
    CHECK(greeting == "hi\n");
    CHECK(s->returned == 1);

    server.close();
    watched wait;
    watch(executor, server.wait_closed(), wait);
    co_await test::sleep_for(200ms);
    CHECK_FALSE(wait.done);  // the callback returned, its connection is still open

    s->kept.clear();  // the last handle goes: the connection closes
    const std::string eof = co_await reader.readline();
    CHECK(eof.empty());
    const bool finished = co_await test::eventually([&] { return wait.done; }, 5s);
    CHECK(finished);
    CHECK_FALSE(wait.failure);
  });
}

TEST_CASE("wait_closed waits while the server is open, even with no connection", "[server][wait_closed]") {
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(test::echo_lines, "127.0.0.1", 0);
    costream::error_code ec;
    const bool early = co_await test::completes_within(server.wait_closed(ec), 200ms);
    CHECK_FALSE(early);
    CHECK(ec == asio::error::operation_aborted);  // the error_code form reports its cancellation
    CHECK(server.is_serving());  // and nothing else changed

    server.close();
    const bool closed = co_await test::completes_within(server.wait_closed(ec), 5s);
    CHECK(closed);
    CHECK_FALSE(ec);
  });
}

TEST_CASE("a connection counts until its callback returns, even once it is lost", "[server][wait_closed]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto returned = std::make_shared<bool>(false);
    auto slow = [returned](stream_reader reader, stream_writer) -> asio::awaitable<void> {
      const std::string rest = co_await reader.read();  // to end of stream
      (void)rest;
      co_await test::sleep_for(300ms);           // work after the connection is gone
      *returned = true;
    };
    auto server = co_await start_server(slow, "127.0.0.1", 0);
    {
      auto client = co_await open_connection(server.sockets()[0]);
      client.writer.write("bye");
      client.writer.close();
      co_await client.writer.wait_closed();
    }
    server.close();
    watched wait;
    watch(executor, server.wait_closed(), wait);
    const bool finished = co_await test::eventually([&] { return wait.done; }, 5s);
    CHECK(finished);
    CHECK(*returned);  // wait_closed did not return before the callback did
    CHECK_FALSE(wait.failure);
  });
}

TEST_CASE("close_clients and abort_clients end connections a callback kept, and wait_closed returns",
          "[server][wait_closed]") {
  const bool abort = GENERATE(false, true);
  test::run([&]() -> asio::awaitable<void> {
    auto s = std::make_shared<seen>();
    auto callback = greet_and_keep(s);
    auto server = co_await start_server(callback, "127.0.0.1", 0);
    std::vector<connection> clients;
    for (int i = 0; i < 5; ++i) {
      clients.push_back(co_await open_connection(server.sockets()[0]));
      const std::string greeting = co_await clients.back().reader.readline();
      CHECK(greeting == "hi\n");
    }
    server.close();
    if (abort) {
      server.abort_clients();
    } else {
      server.close_clients();
    }
    const bool closed = co_await test::completes_within(server.wait_closed(), 5s);
    CHECK(closed);
    for (auto& c : clients) {
      costream::error_code ec;
      const std::string rest = co_await c.reader.read(100, ec);
      CHECK(rest.empty());
    }
  });
}

// ---- a cancelled serve_forever (asyncio 3.13) ------------------------------------------------

TEST_CASE("a cancelled serve_forever closes the server, waits for its connections, then reports the cancellation",
          "[server][serve_forever]") {
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto s = std::make_shared<seen>();
    auto callback = noting_echo(s);
    server_options options;
    options.start_serving = false;
    auto server = co_await start_server(callback, "127.0.0.1", 0, options);
    const auto endpoint = server.sockets()[0];

    asio::cancellation_signal cancel;
    watched forever;
    asio::co_spawn(executor, server.serve_forever(),
                   asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e) {
                     forever.failure = e;
                     forever.done = true;
                   }));
    auto client = co_await open_connection(endpoint);
    const std::string echoed = co_await echo_once(client, "one\n");
    CHECK(echoed == "one\n");

    cancel.emit(asio::cancellation_type::terminal);
    const bool closed = co_await test::eventually([&] { return !server.is_serving(); }, 5s);
    CHECK(closed);
    co_await test::sleep_for(200ms);
    CHECK_FALSE(forever.done);  // the client's connection is still open

    // Closed: nobody accepts any more.
    costream::error_code refused;
    try {
      auto late = co_await open_connection(endpoint);
    } catch (const costream::system_error& e) {
      refused = e.code();
    }
    CHECK(refused == asio::error::connection_refused);

    // The connection still works; once the client ends it, serve_forever ends.
    const std::string again = co_await echo_once(client, "two\n");
    CHECK(again == "two\n");
    client.writer.close();
    const bool finished = co_await test::eventually([&] { return forever.done; }, 5s);
    REQUIRE(finished);
    REQUIRE(forever.failure);
    CHECK(code_of(forever.failure) == asio::error::operation_aborted);
    CHECK(s->returned == 1);
  });
}

// ---- max_connections: at the cap, accepting pauses ------------------------------------------

namespace {

// How many client callbacks run at once, and the most that ever did.
struct occupancy {
  int open = 0;
  int most = 0;
  int served = 0;
};

// Greets at once, then holds the connection until the client closes it.
template <class Reader, class Writer>
asio::awaitable<void> greet_until_end(std::shared_ptr<occupancy> o, Reader reader, Writer writer) {
  ++o->served;
  o->most = std::max(o->most, ++o->open);
  writer.write("hi\n");
  co_await writer.drain();
  const std::string rest = co_await reader.read();  // to end of stream
  (void)rest;
  --o->open;
}

// Whether `c` has been greeted within `timeout`: a client the server has not
// accepted hears nothing (its connection waits in the backlog).
template <class Connection>
asio::awaitable<bool> greeted(Connection& c, std::chrono::milliseconds timeout) {
  costream::error_code ec;
  const std::string line = co_await with_timeout(c.reader.readline(), timeout, ec);
  co_return !ec && line == "hi\n";
}

// Twice the cap connect at once; exactly the cap are served; each client
// that leaves lets exactly one more in, until all were served.
template <class Connect>
asio::awaitable<void> twice_the_cap(Connect connect, std::shared_ptr<occupancy> o, std::size_t cap) {
  using connection_type = typename decltype(connect())::value_type;  // connect() returns an awaitable
  std::vector<connection_type> clients;
  for (std::size_t i = 0; i < 2 * cap; ++i) clients.push_back(co_await connect());  // the backlog takes them
  std::size_t first_greeted = 0;
  for (auto& c : clients) first_greeted += co_await greeted(c, 300ms) ? 1 : 0;
  CHECK(first_greeted == cap);
  CHECK(o->open == static_cast<int>(cap));
  for (std::size_t i = 0; i < cap; ++i) {
    clients[i].writer.close();  // one leaves...
    const bool next = co_await greeted(clients[cap + i], 5s);
    CHECK(next);  // ...and one more is served
    if (i + 1 < cap) {
      const bool early = co_await greeted(clients[cap + i + 1], 100ms);
      CHECK_FALSE(early);  // and only one
    }
  }
  for (std::size_t i = cap; i < 2 * cap; ++i) clients[i].writer.close();
  const bool all_left = co_await test::eventually([&] { return o->open == 0; }, 5s);
  CHECK(all_left);
  CHECK(o->served == static_cast<int>(2 * cap));
  CHECK(o->most == static_cast<int>(cap));
}

}  // namespace

TEST_CASE("max_connections: at the cap the server stops accepting, and serves one more as each client leaves",
          "[server][max_connections]") {
  constexpr std::size_t cap = 4;
  SECTION("TCP") {
    test::run([&]() -> asio::awaitable<void> {
      auto o = std::make_shared<occupancy>();
      server_options options;
      options.max_connections = cap;
      // Named: g++ 12 destroys a capturing lambda temporary in a co_await expression twice.
      auto on_client = [o](stream_reader r, stream_writer w) { return greet_until_end(o, std::move(r), std::move(w)); };
      auto server = co_await start_server(on_client, "127.0.0.1", 0, options);
      const auto endpoint = server.sockets()[0];
      auto connect = [endpoint] { return open_connection(endpoint); };
      co_await twice_the_cap(connect, o, cap);
      server.close();
      co_await server.wait_closed();
    });
  }
  SECTION("Unix") {
    temp_dir dir;
    const std::string path = dir.file("capped.sock");
    test::run([&]() -> asio::awaitable<void> {
      auto o = std::make_shared<occupancy>();
      unix_server_options options;
      options.max_connections = cap;
      auto on_client = [o](unix_stream_reader r, unix_stream_writer w) {
        return greet_until_end(o, std::move(r), std::move(w));
      };
      auto server = co_await start_unix_server(on_client, path, options);
      auto connect = [&path] { return open_unix_connection(path); };
      co_await twice_the_cap(connect, o, cap);
      server.close();
      co_await server.wait_closed();
    });
  }
}

TEST_CASE("max_connections: clients that come and go in parallel are all served, never more than the cap at once",
          "[server][max_connections]") {
  constexpr std::size_t cap = 3;
  constexpr int clients = 24;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto o = std::make_shared<occupancy>();
    server_options options;
    options.max_connections = cap;
    auto on_client = [o](stream_reader r, stream_writer w) { return greet_until_end(o, std::move(r), std::move(w)); };
    auto server = co_await start_server(on_client, "127.0.0.1", 0, options);
    const auto endpoint = server.sockets()[0];
    auto finished = std::make_shared<int>(0);
    for (int i = 0; i < clients; ++i) {
      asio::co_spawn(
          executor,
          [endpoint, finished]() -> asio::awaitable<void> {
            auto c = co_await open_connection(endpoint);
            const bool served = co_await greeted(c, 10s);
            CHECK(served);
            co_await test::sleep_for(20ms);
            c.writer.close();
            co_await c.writer.wait_closed();
            ++*finished;
          },
          asio::detached);
    }
    const bool all = co_await test::eventually([&] { return *finished == clients; }, 15s);
    CHECK(all);
    CHECK(o->served == clients);
    CHECK(o->most <= static_cast<int>(cap));
    CHECK(o->most >= 1);
    server.close();
    co_await server.wait_closed();
  });
}
