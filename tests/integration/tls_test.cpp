// tests/integration/tls_test.cpp: TLS against openssl s_server/s_client, Python's ssl and itself, with run-time certificates.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#if defined(COSTREAM_TEST_TLS)

#include <costream/tls.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

using namespace costream;
using namespace std::chrono_literals;

namespace {

// ---- certificates, made at run time ------------------------------------------

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

key_ptr new_key() {
  key_ptr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error(std::string("bad extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, valid from now + not_before to now + not_after
// (seconds), signed by issuer (self-signed CA when issuer is null).
cert_ptr make_cert(EVP_PKEY* key, const char* common_name, const char* subject_alt_names, long not_before,
                   long not_after, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  cert_ptr cert(X509_new(), &X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), not_before);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), not_after);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : cert.get(), cert.get(), nullptr, nullptr, 0);
  if (issuer == nullptr) {
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), &ctx, NID_basic_constraints, "CA:FALSE");
    add_extension(cert.get(), &ctx, NID_subject_alt_name, subject_alt_names);
    add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0)
    throw std::runtime_error("X509_sign failed");
  return cert;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  if (cert) PEM_write_X509(f, cert);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

// A test CA and server certificates in a fresh temporary directory: good
// (localhost, 127.0.0.1), expired, and for another host name.
class test_pki {
 public:
  test_pki() {
    char dir_template[] = "/tmp/costream-tls-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir_template;
    key_ptr ca_key = new_key();
    cert_ptr ca = make_cert(ca_key.get(), "costream test CA", nullptr, -3600, 30 * 86400, nullptr, nullptr, 1);
    write_pem(ca_file(), ca.get(), nullptr);
    const long day = 86400;
    issue("server", "localhost", "DNS:localhost,IP:127.0.0.1", -3600, day, ca.get(), ca_key.get(), 2);
    issue("expired", "localhost", "DNS:localhost,IP:127.0.0.1", -2 * day, -day, ca.get(), ca_key.get(), 3);
    issue("wrong_host", "wrong.example", "DNS:wrong.example", -3600, day, ca.get(), ca_key.get(), 4);
  }
  ~test_pki() {
    for (const char* name : {"ca.pem", "server.pem", "server.key", "expired.pem", "expired.key", "wrong_host.pem",
                             "wrong_host.key"})
      ::unlink((dir_ + "/" + name).c_str());
    ::rmdir(dir_.c_str());
  }

  std::string ca_file() const { return dir_ + "/ca.pem"; }
  std::string cert_file(const std::string& name) const { return dir_ + "/" + name + ".pem"; }
  std::string key_file(const std::string& name) const { return dir_ + "/" + name + ".key"; }
  const std::string& dir() const { return dir_; }

 private:
  void issue(const std::string& name, const char* cn, const char* sans, long from, long to, X509* ca,
             EVP_PKEY* ca_key, long serial) {
    key_ptr key = new_key();
    cert_ptr cert = make_cert(key.get(), cn, sans, from, to, ca, ca_key, serial);
    write_pem(cert_file(name), cert.get(), nullptr);
    write_pem(key_file(name), nullptr, key.get());
  }

  std::string dir_;
};

const test_pki& pki() {
  static const test_pki instance;
  return instance;
}

asio::ssl::context client_context(bool trust_test_ca = true) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  if (trust_test_ca) ctx.load_verify_file(pki().ca_file());
  return ctx;
}

asio::ssl::context server_context(const std::string& name = "server") {
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  ctx.use_certificate_chain_file(pki().cert_file(name));
  ctx.use_private_key_file(pki().key_file(name), asio::ssl::context::pem);
  return ctx;
}

// ---- child processes -------------------------------------------------------------

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A child process (openssl, python) with stdin from a file and stdout and
// stderr to a file; killed by pid when still running at destruction.
class child_process {
 public:
  child_process(std::vector<std::string> argv, const std::string& stdin_text = {}) {
    static std::atomic<int> counter{0};
    const std::string base = pki().dir() + "/child-" + std::to_string(counter++);
    in_path_ = base + ".in";
    out_path_ = base + ".out";
    { std::ofstream(in_path_) << stdin_text; }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in_path_.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::runtime_error("posix_spawn " + argv[0] + " failed");
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
    }
    ::unlink(in_path_.c_str());
    ::unlink(out_path_.c_str());
  }

  std::string output() const { return read_file(out_path_); }

  // Polls for the child's exit; false if it is still running after `timeout`.
  asio::awaitable<bool> exited_within(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    while (!exited_) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) co_return false;
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
    co_return true;
  }

  // Waits (bounded) until the output contains `text`; the output then.
  asio::awaitable<std::string> output_containing(std::string text, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
      std::string out = output();
      if (out.find(text) != std::string::npos || std::chrono::steady_clock::now() >= deadline) co_return out;
      timer.expires_after(10ms);
      co_await timer.async_wait(asio::use_awaitable);
    }
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  std::string in_path_;
  std::string out_path_;
};

std::vector<std::string> python_peer(std::vector<std::string> args) {
  args.insert(args.begin(), {COSTREAM_TEST_PYTHON, std::string(COSTREAM_TEST_SCRIPTS_DIR) + "/tls_peer.py"});
  return args;
}

// The port in the first line of a peer's output ("ACCEPT 127.0.0.1:PORT" or "PORT").
std::uint16_t port_in(const std::string& out) {
  const auto colon = out.find("127.0.0.1:");
  const std::string digits =
      colon != std::string::npos ? out.substr(colon + 10, out.find('\n', colon) - colon - 10) : out.substr(0, out.find('\n'));
  return static_cast<std::uint16_t>(std::stoi(digits));
}

// tls_options for tests. Not designated initializers: g++ 12 miscompiles
// an aggregate holding a std::string built as a temporary inside a coroutine.
tls_options with_hostname(asio::ssl::context& ctx, std::string hostname) {
  tls_options options(ctx);
  options.server_hostname = std::move(hostname);
  return options;
}

tls_options without_verification(asio::ssl::context& ctx) {
  tls_options options(ctx);
  options.verify_peer = false;
  return options;
}

tls_options with_timeouts(asio::ssl::context& ctx, std::chrono::milliseconds handshake,
                          std::chrono::milliseconds shutdown) {
  tls_options options(ctx);
  options.handshake_timeout = handshake;
  options.shutdown_timeout = shutdown;
  return options;
}

tls_options with_alpn(asio::ssl::context& ctx, std::vector<std::string> protocols) {
  tls_options options(ctx);
  options.alpn_protocols = std::move(protocols);
  return options;
}

// ---- costream peers ---------------------------------------------------------------

asio::awaitable<void> tls_echo(tls_stream_reader reader, tls_stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write("tls:" + line);
    co_await writer.drain();
  }
}

asio::awaitable<void> reply_once(tls_stream_reader reader, tls_stream_writer writer) {
  writer.write("pong:" + co_await reader.readline());
  co_await writer.drain();
}

// A server whose error handler counts failed handshakes.
struct counted_errors {
  std::shared_ptr<std::atomic<int>> count = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<costream::error_code> last = std::make_shared<costream::error_code>();
  server_error_handler handler() const {
    return [count = count, last = last](std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const costream::system_error& se) {
        *last = se.code();
      } catch (...) {
      }
      ++*count;
    };
  }
};

// One line through a fresh client; the reply.
asio::awaitable<std::string> exchange(std::uint16_t port, tls_options options, std::string host = "localhost") {
  auto [reader, writer] = co_await open_connection(host, port, {}, std::move(options));
  writer.write("hello\n");
  std::string reply = co_await reader.readline();
  writer.close();
  co_await writer.wait_closed();
  co_return reply;
}

// What a client's failed handshake threw: its code (empty when it succeeded).
asio::awaitable<costream::error_code> handshake_error(std::uint16_t port, tls_options options, std::string host = "localhost") {
  try {
    auto connection = co_await open_connection(host, port, {}, std::move(options));
  } catch (const certificate_verify_error& e) {
    co_return e.code();
  } catch (const costream::system_error& e) {
    co_return e.code();
  }
  co_return costream::error_code{};
}

}  // namespace

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
    auto server = co_await start_server(
        [seen](tls_stream_reader reader, tls_stream_writer writer) -> asio::awaitable<void> {
          const char* sni = SSL_get_servername(writer.stream().native_handle(), TLSEXT_NAMETYPE_host_name);
          *seen = std::string(sni ? sni : "") + " " + selected_alpn_protocol(writer) + " " +
                  (peer_certificate(writer) ? "cert" : "no-cert");
          co_await tls_echo(std::move(reader), std::move(writer));
        },
        "127.0.0.1", 0, {}, server_options);
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
