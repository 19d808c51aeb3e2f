// tests/integration/tls_hostile_test.cpp: a TLS echo server against hostile peers and refused certificates, each case bounded in time and followed by a client that is still served.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/hostile.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#if defined(COSTREAM_TEST_TLS)

#include "support/tls.hpp"

#include <costream/tls.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#if defined(__GLIBC__)
#include <malloc.h>  // malloc_trim
#endif

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define COSTREAM_TLS_HOSTILE_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define COSTREAM_TLS_HOSTILE_SANITIZED 1
#endif
#endif

using namespace costream;
using namespace costream::test;
using namespace std::chrono_literals;

namespace {

/// A TLS client driven by hand, below costream: Asio's ssl::stream.
using raw_tls = asio::ssl::stream<asio::ip::tcp::socket>;

constexpr std::size_t MiB = 1024 * 1024;

// Echoes the bytes as they come, until end of stream.
asio::awaitable<void> byte_echo(tls_stream_reader reader, tls_stream_writer writer) {
  for (std::string data; !(data = co_await reader.read(64 * 1024)).empty();) {
    writer.write(data);
    co_await writer.drain();
  }
}

// OpenSSL's reason for an error of Asio's SSL category (e.g.
// SSL_R_TLSV1_ALERT_UNKNOWN_CA); -1 for an error of another category.
int ssl_reason(const costream::error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return -1;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
}

// A raw TLS client's handshake with 127.0.0.1:port, verifying nothing.
asio::awaitable<void> raw_tls_handshake(raw_tls& client, std::uint16_t port) {
  const asio::ip::tcp::endpoint endpoint(loopback_v4(), port);
  co_await client.next_layer().async_connect(endpoint, asio::use_awaitable);
  co_await client.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
}

// A real ClientHello (Asio's, over TLS 1.3 and 1.2), recorded: a client
// handshakes against a plain listener, which keeps its first record.
asio::awaitable<std::string> record_client_hello(asio::ssl::context& ctx) {
  auto executor = co_await asio::this_coro::executor;
  raw_listener listener(executor);
  raw_tls client(executor, ctx);
  co_await client.next_layer().async_connect(listener.endpoint(), asio::use_awaitable);
  auto peer = co_await listener.accept();
  bool finished = false;
  client.async_handshake(asio::ssl::stream_base::client, [&finished](const costream::error_code&) { finished = true; });
  std::string hello;
  co_await asio::async_read(peer, asio::dynamic_buffer(hello), asio::transfer_exactly(5), asio::use_awaitable);
  const std::size_t length = static_cast<std::size_t>(static_cast<unsigned char>(hello[3])) << 8 |
                             static_cast<unsigned char>(hello[4]);
  co_await asio::async_read(peer, asio::dynamic_buffer(hello), asio::transfer_exactly(length), asio::use_awaitable);
  peer.close();
  // The handshake holds the stream: let it fail before the stream goes.
  const bool done = co_await eventually([&] { return finished; }, 5s);
  if (!done) throw std::runtime_error("the recording client's handshake did not end");
  co_return hello;
}

// How long since `started`.
std::chrono::milliseconds since(std::chrono::steady_clock::time_point started) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
}

// A context for a client presenting certificate `name` of the test PKI.
asio::ssl::context client_context_with_certificate(const std::string& name) {
  asio::ssl::context ctx = client_context();
  ctx.use_certificate_chain_file(pki().cert_file(name));
  ctx.use_private_key_file(pki().key_file(name), asio::ssl::context::pem);
  return ctx;
}

// What a client reads first once connected: the error that ended the
// connection (or the handshake's, if that failed); empty after data or end
// of stream.
asio::awaitable<costream::error_code> first_read_error(std::uint16_t port, tls_options options) {
  try {
    auto [reader, writer] = co_await open_connection("localhost", port, {}, std::move(options));
    costream::error_code ec;
    (void)co_await reader.read(100, ec);
    co_return ec;
  } catch (const costream::system_error& e) {
    co_return e.code();
  }
}

}  // namespace

// ---- hostile peers: the handshake ------------------------------------------------------

TEST_CASE("a TLS server drops peers that send garbage instead of a ClientHello at once, and serves others",
          "[tls][tls-hostile]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  counted_errors errors;
  const std::vector<std::string> garbage = {
      "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",                           // plain HTTP on a TLS port
      std::string("\x17\x03\x03\x00\x05hello", 10),                         // application data before any handshake
      std::string("\x16\x03\x01\x00\x04\xff\xff\xff\xff", 9),               // a handshake record of nonsense
      std::string(300, '\0'),                                               // zeros
  };
  test::run([&]() -> asio::awaitable<void> {
    // A long handshake_timeout: the peers must be dropped for what they sent, not for their silence.
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, with_timeouts(server_ctx, 60s, 5s));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();
    int expected = 0;
    for (const auto& bytes : garbage) {
      INFO("garbage #" << expected);
      const auto started = std::chrono::steady_clock::now();
      auto peer = co_await raw_connect(port);
      co_await asio::async_write(peer, asio::buffer(bytes), asio::use_awaitable);
      costream::error_code ended;
      (void)co_await raw_read_to_end(peer, ended);  // an alert, maybe, then the server closes
      CHECK(ended);
      CHECK(since(started) < 5s);
      ++expected;
      const bool reported = co_await eventually([&] { return errors.count->load() == expected; });
      CHECK(reported);
      CHECK(errors.last->category() == asio::error::get_ssl_category());
      const std::string reply = co_await exchange(port, tls_options(ctx));
      CHECK(reply == "tls:hello\n");
    }
  });
}

TEST_CASE("a TLS server frees a peer that sends a ClientHello and then nothing after handshake_timeout, serving others meanwhile",
          "[tls][tls-hostile]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  auto recording_ctx = client_context();
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    const std::string hello = co_await record_client_hello(recording_ctx);
    REQUIRE(hello.size() > 5);
    CHECK(hello[0] == '\x16');  // a handshake record
    CHECK(hello[5] == '\x01');  // holding a ClientHello
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, with_timeouts(server_ctx, 500ms, 5s));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();
    const auto started = std::chrono::steady_clock::now();
    auto silent = co_await raw_connect(port);
    co_await asio::async_write(silent, asio::buffer(hello), asio::use_awaitable);
    // Meanwhile, a real client is served.
    const std::string reply = co_await exchange(port, tls_options(ctx));
    CHECK(reply == "tls:hello\n");
    CHECK(errors.count->load() == 0);
    costream::error_code ended;
    const std::string answer = co_await raw_read_to_end(silent, ended);
    const auto freed_after = since(started);
    CHECK(ended == asio::error::eof);
    REQUIRE_FALSE(answer.empty());
    CHECK(answer[0] == '\x16');  // the server's hello came, then nothing until the close
    CHECK(freed_after >= 450ms);
    CHECK(freed_after < 5s);
    const bool reported = co_await eventually([&] { return errors.count->load() == 1; });
    CHECK(reported);
    CHECK(*errors.last == errc::timed_out);
  });
}

TEST_CASE("1,000 peers that open TCP and never start the handshake hold bounded fds and memory, all freed after handshake_timeout",
          "[tls][tls-hostile]") {
  constexpr int peers = 1000;
  fd_limit_raised fd_limit;
  if (fd_limit.limit() < 2 * peers + 256)
    skip("RLIMIT_NOFILE allows " + std::to_string(fd_limit.limit()) + " descriptors; the test needs " +
         std::to_string(2 * peers + 256));
  auto server_ctx = server_context();
  auto ctx = client_context();
  counted_errors errors;
  const std::size_t fds_before = count_open_fds();
  const std::size_t rss_before = resident_bytes();
  std::size_t fds_serving = 0;
  std::size_t fds_peak = 0;
  std::size_t rss_peak = 0;
  int timed_out_when_served = 0;
  std::chrono::milliseconds connect_time{0};
  // 1.5 s: long enough that the peers still wait while the client is served
  // even where connecting 1,000 is slow (sanitizers), short enough for CI.
  test::run(
      [&]() -> asio::awaitable<void> {
        auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, with_timeouts(server_ctx, 1500ms, 5s));
        server.set_error_handler(errors.handler());
        const auto port = server.sockets()[0].port();
        fds_serving = count_open_fds();
        const auto started = std::chrono::steady_clock::now();
        std::vector<asio::ip::tcp::socket> idle;
        idle.reserve(peers);
        for (int i = 0; i < peers; ++i) idle.push_back(co_await raw_connect(port));
        connect_time = since(started);
        // While they wait, a real client is served.
        const std::string reply = co_await exchange(port, tls_options(ctx));
        CHECK(reply == "tls:hello\n");
        timed_out_when_served = errors.count->load();
        fds_peak = count_open_fds();
        rss_peak = resident_bytes();

        const bool all_timed_out = co_await eventually([&] { return errors.count->load() == peers; }, 10s);
        CHECK(all_timed_out);
        CHECK(*errors.last == errc::timed_out);
        // The server's side of each is closed: only the peers' sockets remain.
        const bool server_side_freed =
            co_await eventually([&] { return count_open_fds() <= fds_serving + peers; }, 5s);
        CHECK(server_side_freed);
        int ended = 0;
        for (auto& socket : idle) {
          char byte = 0;
          auto [ec, n] = co_await socket.async_read_some(asio::buffer(&byte, 1), compat::use_tuple);
          if (ec == asio::error::eof && n == 0) ++ended;
        }
        CHECK(ended == peers);
        idle.clear();
        const std::string again = co_await exchange(port, tls_options(ctx));
        CHECK(again == "tls:hello\n");
        server.close();
        co_await server.wait_closed();
      },
      30s);
  const std::size_t fds_after = count_open_fds();
  const std::size_t rss_retained = resident_bytes();
#if defined(COSTREAM_TLS_HOSTILE_SANITIZED)
  constexpr bool sanitized = true;
#else
  constexpr bool sanitized = false;
#if defined(__GLIBC__)
  malloc_trim(0);  // glibc keeps freed memory in its arenas: have it give it back
#endif
#endif
  const std::size_t rss_after = resident_bytes();
  std::cout << "tls idle peers: " << peers << " connected in " << connect_time.count() << " ms; fds " << fds_before
            << " before, " << fds_peak << " at the peak, " << fds_after << " after; RSS " << rss_before / MiB
            << " MiB before, " << rss_peak / MiB << " MiB at the peak, " << rss_retained / MiB << " MiB after, "
            << rss_after / MiB << " MiB once malloc gave memory back; " << timed_out_when_served
            << " timed out when the client was served\n";
  // Each waiting handshake holds one descriptor (the peer holds the other).
  CHECK(fds_peak <= fds_serving + 2 * peers + 8);
  CHECK(fds_after <= fds_before);
  // A waiting handshake costs an SSL object and Asio's record buffers (2 x
  // 17 KiB): bounded per connection, and given back (sanitizers' allocators
  // keep freed memory: a sanity bound there; LeakSanitizer checks for leaks
  // at exit under ASan).
  const std::size_t per_peer_bound = sanitized ? 512 * 1024 : 128 * 1024;
  CHECK(rss_peak <= rss_before + peers * per_peer_bound);
  CHECK(rss_after <= rss_before + (sanitized ? 512 * MiB : 24 * MiB));
  // The client was served while most peers still waited.
  CHECK(timed_out_when_served < peers);
}

TEST_CASE("a peer that closes in the middle of a TLS record gets a typed error, in the handshake and after it",
          "[tls][tls-hostile]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  auto raw_ctx = client_context();
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    const std::string hello = co_await record_client_hello(raw_ctx);
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, with_timeouts(server_ctx, 60s, 5s));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();

    // Half a ClientHello, then end of stream: the handshake fails at once.
    {
      const auto started = std::chrono::steady_clock::now();
      auto peer = co_await raw_connect(port);
      co_await asio::async_write(peer, asio::buffer(hello.data(), hello.size() / 2), asio::use_awaitable);
      peer.shutdown(asio::socket_base::shutdown_send);
      costream::error_code ended;
      (void)co_await raw_read_to_end(peer, ended);
      CHECK(since(started) < 5s);
      const bool reported = co_await eventually([&] { return errors.count->load() == 1; });
      CHECK(reported);
      INFO("the server reported " << errors.last->message() << " (" << errors.last->category().name() << ")");
      CHECK(*errors.last == asio::ssl::error::stream_truncated);
    }
    // A record header promising 256 bytes after the handshake, 20 of them, then end of stream.
    {
      raw_tls client(executor, raw_ctx);
      co_await raw_tls_handshake(client, port);
      co_await asio::async_write(client, asio::buffer(std::string("ping\n")), asio::use_awaitable);
      std::string reply;
      co_await asio::async_read_until(client, asio::dynamic_buffer(reply), '\n', asio::use_awaitable);
      CHECK(reply == "tls:ping\n");
      std::string truncated("\x17\x03\x03\x01\x00", 5);
      truncated += std::string(20, 'x');
      co_await asio::async_write(client.next_layer(), asio::buffer(truncated), asio::use_awaitable);
      client.next_layer().shutdown(asio::socket_base::shutdown_send);
      const bool reported = co_await eventually([&] { return errors.count->load() == 2; });
      CHECK(reported);
      INFO("the server's reader reported " << errors.last->message() << " (" << errors.last->category().name() << ")");
      CHECK(*errors.last == asio::ssl::error::stream_truncated);
    }
    const std::string reply = co_await exchange(port, tls_options(ctx));
    CHECK(reply == "tls:hello\n");
  });
}

// ---- end of stream without close_notify -------------------------------------------------

TEST_CASE("a TLS peer that closes without close_notify: its bytes are read, then stream_truncated, on both sides",
          "[tls][tls-hostile]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  auto raw_ctx = client_context();
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    // The server's reader: a raw client writes, then closes its socket.
    struct outcome {
      std::string first;
      std::string second;
      costream::error_code ec;
      bool at_eof = true;
      bool done = false;
    };
    auto seen = std::make_shared<outcome>();
    // Named: g++ 12 destroys a capturing lambda temporary in a co_await expression twice.
    auto on_client = [seen](tls_stream_reader reader, tls_stream_writer) -> asio::awaitable<void> {
      seen->first = co_await reader.read(100);
      seen->second = co_await reader.read(100, seen->ec);
      seen->at_eof = reader.at_eof();
      seen->done = true;
    };
    auto server = co_await start_server(on_client, "127.0.0.1", 0, {}, tls_options(server_ctx));
    raw_tls client(executor, raw_ctx);
    co_await raw_tls_handshake(client, server.sockets()[0].port());
    co_await asio::async_write(client, asio::buffer(std::string("partial")), asio::use_awaitable);
    // A FIN and no close_notify. (Not close(): the server's session tickets
    // are still unread here, and closing would send a reset instead.)
    client.next_layer().shutdown(asio::socket_base::shutdown_send);
    const bool done = co_await eventually([&] { return seen->done; });
    REQUIRE(done);
    CHECK(seen->first == "partial");
    CHECK(seen->second.empty());
    CHECK(seen->ec == asio::ssl::error::stream_truncated);
    CHECK_FALSE(seen->at_eof);

    // The client's reader: a raw server writes, then closes its socket.
    raw_listener listener(executor);
    auto connected = std::make_shared<std::optional<tls_connection>>();
    asio::co_spawn(
        executor,
        [&ctx, connected, port = listener.port()]() -> asio::awaitable<void> {
          connected->emplace(co_await open_connection("localhost", port, {}, tls_options(ctx)));
        },
        asio::detached);
    raw_tls peer(co_await listener.accept(), server_ctx);
    co_await peer.async_handshake(asio::ssl::stream_base::server, asio::use_awaitable);
    const bool handshaken = co_await eventually([&] { return connected->has_value(); });
    REQUIRE(handshaken);
    auto [reader, writer] = std::move(**connected);
    co_await asio::async_write(peer, asio::buffer(std::string("bye")), asio::use_awaitable);
    peer.next_layer().close();
    const std::string bye = co_await reader.read(100);
    CHECK(bye == "bye");
    costream::error_code ec;
    const std::string after = co_await reader.readline(ec);
    CHECK(after.empty());
    CHECK(ec == asio::ssl::error::stream_truncated);
    CHECK_FALSE(reader.at_eof());
  });
}

// ---- hostile peers: the bytes on the wire ------------------------------------------------

namespace {

// Copies `from` to `to` one byte per send (TCP_NODELAY on both), then passes
// end of stream on.
asio::awaitable<void> trickle(std::shared_ptr<asio::ip::tcp::socket> from, std::shared_ptr<asio::ip::tcp::socket> to) {
  char chunk[4096];
  for (;;) {
    auto [ec, n] = co_await from->async_read_some(asio::buffer(chunk), compat::use_tuple);
    for (std::size_t i = 0; i < n; ++i) {
      auto [write_ec, written] = co_await asio::async_write(*to, asio::buffer(chunk + i, 1), compat::use_tuple);
      if (write_ec) co_return;
    }
    if (ec) {
      costream::error_code ignored;
      to->shutdown(asio::socket_base::shutdown_send, ignored);
      co_return;
    }
  }
}

}  // namespace

TEST_CASE("TLS records split into 1-byte TCP segments both ways are echoed exactly", "[tls][tls-hostile]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  std::string payload;
  for (int i = 0; payload.size() < 3000; ++i) payload += std::string(static_cast<std::size_t>(i * 7 % 97), static_cast<char>('a' + i % 26)) + "\n";
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto server = co_await start_server(byte_echo, "127.0.0.1", 0, {}, tls_options(server_ctx));
    // The proxy between the client and the server.
    raw_listener listener(executor);
    asio::co_spawn(
        executor,
        [&listener, executor, port = server.sockets()[0].port()]() -> asio::awaitable<void> {
          auto client_side = std::make_shared<asio::ip::tcp::socket>(co_await listener.accept());
          auto server_side = std::make_shared<asio::ip::tcp::socket>(executor);
          const asio::ip::tcp::endpoint server_endpoint(loopback_v4(), port);
          co_await server_side->async_connect(server_endpoint, asio::use_awaitable);
          client_side->set_option(asio::ip::tcp::no_delay(true));
          server_side->set_option(asio::ip::tcp::no_delay(true));
          asio::co_spawn(executor, trickle(client_side, server_side), asio::detached);
          asio::co_spawn(executor, trickle(server_side, client_side), asio::detached);
        },
        asio::detached);
    auto [reader, writer] = co_await open_connection("127.0.0.1", listener.port(), {}, with_hostname(ctx, "localhost"));
    writer.write(payload);
    const std::string echoed = co_await reader.readexactly(payload.size());
    CHECK(echoed == payload);
    writer.close();
    costream::error_code closed;
    co_await writer.wait_closed(closed);
    CHECK_FALSE(closed);
    server.close();
    co_await server.wait_closed();
  });
}

// ---- renegotiation ----------------------------------------------------------------------

TEST_CASE("a TLS server refuses a client's renegotiation (OpenSSL 3's default), and serves others",
          "[tls][tls-hostile]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  auto tls12_ctx = client_context();
  // Renegotiation exists up to TLS 1.2.
  SSL_CTX_set_max_proto_version(tls12_ctx.native_handle(), TLS1_2_VERSION);
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, tls_options(server_ctx));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();
    raw_tls client(executor, tls12_ctx);
    co_await raw_tls_handshake(client, port);
    CHECK(std::string(SSL_get_version(client.native_handle())) == "TLSv1.2");
    co_await asio::async_write(client, asio::buffer(std::string("before\n")), asio::use_awaitable);
    std::string reply;
    co_await asio::async_read_until(client, asio::dynamic_buffer(reply), '\n', asio::use_awaitable);
    CHECK(reply == "tls:before\n");
    REQUIRE(SSL_renegotiate(client.native_handle()) == 1);
    auto [renegotiated] = co_await client.async_handshake(asio::ssl::stream_base::client, compat::use_tuple);
    INFO("the client's renegotiation ended with " << renegotiated.message());
    CHECK(ssl_reason(renegotiated) == SSL_R_NO_RENEGOTIATION);
    // The client gave up with an alert: the server's reader reports it.
    const bool reported = co_await eventually([&] { return errors.count->load() == 1; });
    CHECK(reported);
    INFO("the server reported " << errors.last->message());
    CHECK(ssl_reason(*errors.last) == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE);
    const std::string served = co_await exchange(port, tls_options(ctx));
    CHECK(served == "tls:hello\n");
  });
}

// ---- certificates refused -----------------------------------------------------------------

TEST_CASE("a TLS client refuses expired, wrong-host, unknown-CA and self-signed certificates with typed errors",
          "[tls][tls-hostile]") {
  auto ctx = client_context();
  struct refusal {
    const char* certificate;
    tls_verify_errc client_error;
    int server_reason;  // the client's alert, as the server reports it
  };
  const std::vector<refusal> refusals = {
      {"expired", tls_verify_errc::certificate_has_expired, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED},
      {"wrong_host", tls_verify_errc::hostname_mismatch, SSL_R_SSLV3_ALERT_BAD_CERTIFICATE},
      {"unknown_ca", tls_verify_errc::unable_to_get_issuer_certificate_locally, SSL_R_TLSV1_ALERT_UNKNOWN_CA},
      {"self_signed", tls_verify_errc::self_signed_certificate, SSL_R_TLSV1_ALERT_UNKNOWN_CA},
  };
  for (const auto& r : refusals) {
    INFO("the server's certificate: " << r.certificate);
    auto server_ctx = server_context(r.certificate);
    counted_errors errors;
    test::run([&]() -> asio::awaitable<void> {
      auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, tls_options(server_ctx));
      server.set_error_handler(errors.handler());
      const auto port = server.sockets()[0].port();
      const costream::error_code refused = co_await handshake_error(port, tls_options(ctx));
      CHECK(refused == r.client_error);
      const bool reported = co_await eventually([&] { return errors.count->load() == 1; });
      CHECK(reported);
      INFO("the server reported " << errors.last->message());
      CHECK(ssl_reason(*errors.last) == r.server_reason);
      // The same server, and so its other connections, still served.
      const std::string reply = co_await exchange(port, without_verification(ctx));
      CHECK(reply == "tls:hello\n");
    });
  }
}

TEST_CASE("a TLS server that requires client certificates refuses expired, unknown-CA, self-signed and missing ones with typed errors",
          "[tls][tls-hostile]") {
  auto server_ctx = server_context();
  server_ctx.load_verify_file(pki().ca_file());
  server_ctx.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
  struct refusal {
    const char* certificate;  // null: none
    tls_verify_errc server_error;
    int client_reason;  // the server's alert, as the client reads it
  };
  const std::vector<refusal> refusals = {
      {"expired", tls_verify_errc::certificate_has_expired, SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED},
      {"unknown_ca", tls_verify_errc::unable_to_get_issuer_certificate_locally, SSL_R_TLSV1_ALERT_UNKNOWN_CA},
      {"self_signed", tls_verify_errc::self_signed_certificate, SSL_R_TLSV1_ALERT_UNKNOWN_CA},
      {nullptr, {}, SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED},
  };
  auto good_ctx = client_context_with_certificate("server");
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(
        [](tls_stream_reader reader, tls_stream_writer writer) -> asio::awaitable<void> {
          const bool certified = peer_certificate(writer) != nullptr;
          writer.write((certified ? "certified:" : "anonymous:") + co_await reader.readline());
          co_await writer.drain();
        },
        "127.0.0.1", 0, {}, tls_options(server_ctx));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();
    int expected = 0;
    for (const auto& r : refusals) {
      INFO("the client's certificate: " << (r.certificate ? r.certificate : "none"));
      auto ctx = r.certificate ? client_context_with_certificate(r.certificate) : client_context();
      // TLS 1.3: the client's handshake is done before the server checks
      // its certificate; the server's alert ends the client's first read.
      const costream::error_code client_side = co_await first_read_error(port, tls_options(ctx));
      INFO("the client read " << client_side.message());
      CHECK(ssl_reason(client_side) == r.client_reason);
      ++expected;
      const bool reported = co_await eventually([&] { return errors.count->load() == expected; });
      CHECK(reported);
      INFO("the server reported " << errors.last->message());
      if (r.certificate) {
        CHECK(errors.verify_errors->load() == expected);  // a certificate_verify_error
        CHECK(*errors.last == r.server_error);
      } else {
        CHECK(ssl_reason(*errors.last) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE);
      }
    }
    // A certificate from the trusted CA is accepted.
    const std::string reply = co_await exchange(port, tls_options(good_ctx));
    CHECK(reply == "certified:hello\n");
  });
}

#endif  // COSTREAM_TEST_TLS
