// tests/integration/tls_test.cpp: TLS against openssl s_server/s_client, Python's ssl and itself, with run-time certificates.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#if defined(COSTREAM_TEST_TLS)

#include "support/tls.hpp"

#include <costream/tls.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <string>
#include <vector>

using namespace costream;
using namespace costream::test;
using namespace std::chrono_literals;

// ---- against openssl s_server and s_client -----------------------------------------

TEST_CASE("open_connection over TLS talks to openssl s_server, verifying its certificate and host name", "[tls]") {
  child_process s_server({COSTREAM_TEST_OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-cert",
                          pki().cert_file("server"), "-key", pki().key_file("server"), "-rev", "-naccept", "1"});
  auto ctx = client_context();
  test::run([&]() -> asio::awaitable<void> {
    const std::string announced = co_await s_server.output_containing("ACCEPT");
    REQUIRE(announced.find("ACCEPT") != std::string::npos);
    auto [reader, writer] = co_await open_connection("localhost", port_in(announced), {},
                                                     with_timeouts(ctx, 60s, 5s));
    writer.write("hello\n");
    const std::string reply = co_await reader.readline();
    CHECK(reply == "olleh\n");
    CHECK(tls_version(writer) == "TLSv1.3");
    CHECK_FALSE(cipher(writer).empty());
    CHECK(peer_certificate_pem(writer).rfind("-----BEGIN CERTIFICATE-----", 0) == 0);
    CHECK(peer_certificate(writer) != nullptr);
    CHECK(selected_alpn_protocol(writer).empty());
    CHECK_FALSE(writer.can_write_eof());
    writer.close();
    costream::error_code closed;
    co_await writer.wait_closed(closed);
    CHECK_FALSE(closed);
    const bool exited = co_await s_server.exited_within(10s);
    CHECK(exited);
  });
}

TEST_CASE("ALPN is negotiated with openssl s_server", "[tls]") {
  child_process s_server({COSTREAM_TEST_OPENSSL, "s_server", "-accept", "127.0.0.1:0", "-cert",
                          pki().cert_file("server"), "-key", pki().key_file("server"), "-rev", "-naccept", "1",
                          "-alpn", "h2,http/1.1"});
  auto ctx = client_context();
  // Built outside the coroutine: g++ 12 cannot put an initializer list's array in a coroutine frame.
  const tls_options options = with_alpn(ctx, {"spdy/1", "http/1.1"});
  test::run([&]() -> asio::awaitable<void> {
    const std::string announced = co_await s_server.output_containing("ACCEPT");
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_in(announced), {}, options);
    CHECK(selected_alpn_protocol(writer) == "http/1.1");
    writer.write("abc\n");
    const std::string reply = co_await reader.readline();
    CHECK(reply == "cba\n");
  });
}

TEST_CASE("start_server over TLS serves openssl s_client, which verifies it", "[tls]") {
  auto ctx = server_context();
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(reply_once, "127.0.0.1", 0, {}, tls_options(ctx));
    const auto port = server.sockets()[0].port();
    child_process s_client({COSTREAM_TEST_OPENSSL, "s_client", "-connect", "127.0.0.1:" + std::to_string(port),
                            "-CAfile", pki().ca_file(), "-verify_return_error", "-verify_hostname", "localhost",
                            "-servername", "localhost", "-quiet"},
                           "ping\n");
    const bool exited = co_await s_client.exited_within(15s);
    CHECK(exited);
    const std::string out = s_client.output();
    INFO(out);
    CHECK(out.find("pong:ping\n") != std::string::npos);
    server.close();
    co_await server.wait_closed();
  });
}

// ---- against Python's ssl ------------------------------------------------------------

TEST_CASE("a TLS client talks to a Python asyncio TLS server", "[tls][python]") {
  child_process python(python_peer({"server", pki().cert_file("server"), pki().key_file("server")}));
  auto ctx = client_context();
  test::run([&]() -> asio::awaitable<void> {
    const std::string announced = co_await python.output_containing("\n");
    REQUIRE_FALSE(announced.empty());
    auto [reader, writer] = co_await open_connection("localhost", port_in(announced), {},
                                                     with_timeouts(ctx, 60s, 5s));
    writer.write("one\ntwo\n");
    const std::string one = co_await reader.readline();
    const std::string two = co_await reader.readline();
    CHECK(one == "py:one\n");
    CHECK(two == "py:two\n");
    writer.close();
    costream::error_code closed;
    co_await writer.wait_closed(closed);
    CHECK_FALSE(closed);
    const bool exited = co_await python.exited_within(10s);
    CHECK(exited);
  });
}

TEST_CASE("a TLS server serves a Python asyncio TLS client, which verifies it", "[tls][python]") {
  auto ctx = server_context();
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(reply_once, "127.0.0.1", 0, {}, tls_options(ctx));
    child_process python(
        python_peer({"client", std::to_string(server.sockets()[0].port()), pki().ca_file(), "localhost"}));
    const bool exited = co_await python.exited_within(15s);
    CHECK(exited);
    const std::string out = python.output();
    INFO(out);
    CHECK(out == "pong:ping\nclosed\n");
  });
}

// ---- costream to costream: verification failures are typed; the server goes on -------

TEST_CASE("a client refuses an expired certificate, and the server keeps serving", "[tls]") {
  auto server_ctx = server_context("expired");
  auto ctx = client_context();
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, tls_options(server_ctx));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();
    const costream::error_code refused = co_await handshake_error(port, tls_options(ctx));
    CHECK(refused == tls_verify_errc::certificate_has_expired);
    CHECK(std::error_code(refused).category() == tls_verify_category());
    const bool reported = co_await test::eventually([&] { return errors.count->load() == 1; });
    CHECK(reported);
    // Verification off is explicit, and then the same server answers.
    const std::string reply = co_await exchange(port, without_verification(ctx));
    CHECK(reply == "tls:hello\n");
  });
}

TEST_CASE("a client refuses a certificate for another host name, and the server keeps serving", "[tls]") {
  auto server_ctx = server_context("wrong_host");
  auto ctx = client_context();
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, tls_options(server_ctx));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();
    const costream::error_code by_name = co_await handshake_error(port, tls_options(ctx));
    CHECK(by_name == tls_verify_errc::hostname_mismatch);
    const costream::error_code by_address = co_await handshake_error(port, tls_options(ctx), "127.0.0.1");
    CHECK(by_address == tls_verify_errc::ip_address_mismatch);
    const bool reported = co_await test::eventually([&] { return errors.count->load() == 2; });
    CHECK(reported);
    const std::string reply = co_await exchange(port, with_hostname(ctx, "wrong.example"));
    CHECK(reply == "tls:hello\n");
  });
}

TEST_CASE("a client refuses a certificate from a CA it does not trust, and the server keeps serving", "[tls]") {
  auto server_ctx = server_context();
  auto untrusting = client_context(false);
  auto ctx = client_context();
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {}, tls_options(server_ctx));
    server.set_error_handler(errors.handler());
    const auto port = server.sockets()[0].port();
    std::string what;
    try {
      auto connection = co_await open_connection("localhost", port, {}, tls_options(untrusting));
    } catch (const certificate_verify_error& e) {
      CHECK(e.code() == tls_verify_errc::unable_to_get_issuer_certificate_locally);
      CHECK(e.verify_code() == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
      what = e.verify_message();
    }
    CHECK(what == "unable to get local issuer certificate");
    const bool reported = co_await test::eventually([&] { return errors.count->load() == 1; });
    CHECK(reported);
    const std::string reply = co_await exchange(port, tls_options(ctx));
    CHECK(reply == "tls:hello\n");
    const std::string by_address = co_await exchange(port, tls_options(ctx), "127.0.0.1");
    CHECK(by_address == "tls:hello\n");
  });
}

TEST_CASE("a TLS client sends SNI, offers ALPN and sees what the server chose", "[tls]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  auto seen = std::make_shared<std::string>();
  const tls_options server_options = with_alpn(server_ctx, {"h2", "http/1.1"});
  const tls_options client_options = with_alpn(ctx, {"http/1.1", "h2"});
  test::run([&]() -> asio::awaitable<void> {
    // Named: g++ 12 destroys a capturing lambda temporary in a co_await expression twice.
    auto on_client = [seen](tls_stream_reader reader, tls_stream_writer writer) -> asio::awaitable<void> {
      const char* sni = SSL_get_servername(writer.stream().native_handle(), TLSEXT_NAMETYPE_host_name);
      *seen = std::string(sni ? sni : "") + " " + selected_alpn_protocol(writer) + " " +
              (peer_certificate(writer) ? "cert" : "no-cert");
      co_await tls_echo(std::move(reader), std::move(writer));
    };
    auto server = co_await start_server(on_client, "127.0.0.1", 0, {}, server_options);
    auto [reader, writer] = co_await open_connection("localhost", server.sockets()[0].port(), {}, client_options);
    CHECK(selected_alpn_protocol(writer) == "h2");  // the server's preference
    writer.write("x\n");
    const std::string reply = co_await reader.readline();
    CHECK(reply == "tls:x\n");
    CHECK(*seen == "localhost h2 no-cert");
  });
}

// ---- timeouts ------------------------------------------------------------------------

TEST_CASE("a TLS handshake that outlasts handshake_timeout fails with timed_out, on both sides", "[tls]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  counted_errors errors;
  test::run([&]() -> asio::awaitable<void> {
    auto executor = co_await asio::this_coro::executor;
    // A client against a TCP listener that never speaks TLS.
    asio::ip::tcp::acceptor silent(executor, {asio::ip::make_address("127.0.0.1"), 0});
    const auto started = std::chrono::steady_clock::now();
    const costream::error_code client_side =
        co_await handshake_error(silent.local_endpoint().port(), with_timeouts(ctx, 200ms, 5s));
    CHECK(client_side == errc::timed_out);
    CHECK(std::chrono::steady_clock::now() - started < 5s);

    // A server against a TCP client that never speaks TLS; then a real client.
    auto server = co_await start_server(tls_echo, "127.0.0.1", 0, {},
                                        with_timeouts(server_ctx, 200ms, 5s));
    server.set_error_handler(errors.handler());
    asio::ip::tcp::socket mute(executor);
    co_await mute.async_connect(server.sockets()[0], asio::use_awaitable);
    const bool reported = co_await test::eventually([&] { return errors.count->load() == 1; });
    CHECK(reported);
    CHECK(*errors.last == errc::timed_out);
    const std::string reply = co_await exchange(server.sockets()[0].port(), tls_options(ctx));
    CHECK(reply == "tls:hello\n");
  });
}

TEST_CASE("close over TLS gives up on a peer that never answers close_notify after shutdown_timeout", "[tls]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  test::run([&]() -> asio::awaitable<void> {
    // The server holds the connection without reading: our close_notify is never answered.
    auto server = co_await start_server(
        [](tls_stream_reader, tls_stream_writer) -> asio::awaitable<void> { co_await test::sleep_for(3s); },
        "127.0.0.1", 0, {}, tls_options(server_ctx));
    auto [reader, writer] = co_await open_connection("localhost", server.sockets()[0].port(), {},
                                                     with_timeouts(ctx, 5s, 200ms));
    const auto started = std::chrono::steady_clock::now();
    writer.close();
    CHECK(writer.is_closing());
    costream::error_code closed;
    co_await writer.wait_closed(closed);
    CHECK(closed == errc::timed_out);
    CHECK(std::chrono::steady_clock::now() - started < 2s);
  });
}

// ---- start_tls ---------------------------------------------------------------------------

TEST_CASE("start_tls upgrades a plain connection mid-way, keeping the bytes the reader had buffered", "[tls]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_server(
        [&server_ctx](stream_reader reader, stream_writer writer) -> asio::awaitable<void> {
          const std::string command = co_await reader.readline();
          if (command != "STARTTLS\n") co_return;
          writer.write("GO\nstill plain\n");  // one send: the client reads both lines at once
          auto [tls_reader, tls_writer] =
              co_await start_tls(std::move(reader), std::move(writer), tls_options(server_ctx), tls_role::server);
          co_await tls_echo(std::move(tls_reader), std::move(tls_writer));
        },
        "127.0.0.1", 0);
    auto [reader, writer] = co_await open_connection("127.0.0.1", server.sockets()[0].port());
    writer.write("STARTTLS\n");
    const std::string go = co_await reader.readline();
    CHECK(go == "GO\n");
    CHECK(reader.buffered() == "still plain\n");
    auto [tls_reader, tls_writer] =
        co_await start_tls(std::move(reader), std::move(writer), with_hostname(ctx, "localhost"));
    const std::string kept = co_await tls_reader.readline();
    CHECK(kept == "still plain\n");
    tls_writer.write("secret\n");
    const std::string reply = co_await tls_reader.readline();
    CHECK(reply == "tls:secret\n");
    CHECK(tls_version(tls_writer) == "TLSv1.3");
  });
}

TEST_CASE("start_tls upgrades a connection to a Python asyncio server that calls start_tls", "[tls][python]") {
  child_process python(python_peer({"starttls", pki().cert_file("server"), pki().key_file("server")}));
  auto ctx = client_context();
  test::run([&]() -> asio::awaitable<void> {
    const std::string announced = co_await python.output_containing("\n");
    REQUIRE_FALSE(announced.empty());
    auto [reader, writer] = co_await open_connection("127.0.0.1", port_in(announced));
    writer.write("STARTTLS\n");
    const std::string go = co_await reader.readline();
    REQUIRE(go == "GO\n");
    auto [tls_reader, tls_writer] = co_await start_tls(std::move(reader), std::move(writer),
                                                       with_hostname(ctx, "localhost"));
    tls_writer.write("secret\n");
    const std::string reply = co_await tls_reader.readline();
    CHECK(reply == "py-tls:secret\n");
  });
}

// ---- Unix sockets -------------------------------------------------------------------------

TEST_CASE("TLS runs over a Unix socket, verified against server_hostname", "[tls][unix]") {
  auto server_ctx = server_context();
  auto ctx = client_context();
  const std::string path = pki().dir() + "/tls.sock";
  test::run([&]() -> asio::awaitable<void> {
    auto server = co_await start_unix_server(
        [](unix_tls_stream_reader reader, unix_tls_stream_writer writer) -> asio::awaitable<void> {
          writer.write("unix:" + co_await reader.readline());
          co_await writer.drain();
        },
        path, {}, tls_options(server_ctx));
    auto [reader, writer] = co_await open_unix_connection(path, {}, with_hostname(ctx, "localhost"));
    writer.write("hi\n");
    const std::string reply = co_await reader.readline();
    CHECK(reply == "unix:hi\n");
    // wait_closed waits for this connection to go, and the server's close
    // over TLS waits for the client's close_notify: the client closes too.
    writer.close();
    server.close();
    co_await server.wait_closed();
  });
}

#endif  // COSTREAM_TEST_TLS
