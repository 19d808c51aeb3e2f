// tests/support/tls.hpp: TLS test support: run-time certificates, contexts, child processes (openssl, python), TLS peers.
// SPDX-License-Identifier: BSL-1.0
//
// For TLS builds only (COSTREAM_TEST_TLS): the includer checks.
#ifndef COSTREAM_TESTS_SUPPORT_TLS_HPP
#define COSTREAM_TESTS_SUPPORT_TLS_HPP

#include "support/loopback.hpp"

#include <costream/costream.hpp>
#include <costream/tls.hpp>

#include "support/net_all.hpp"

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
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace costream::test {

using namespace std::chrono_literals;

// ---- certificates, made at run time ------------------------------------------

using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;

inline key_ptr new_key() {
  key_ptr key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_EC_gen failed");
  return key;
}

inline void add_extension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, ctx, nid, value);
  if (ext == nullptr) throw std::runtime_error(std::string("bad extension ") + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, valid from now + not_before to now + not_after
// (seconds), signed by issuer (self-signed when issuer is null). Without
// subject_alt_names it is a CA; with them a leaf, good for a server and a
// client alike.
inline cert_ptr make_cert(EVP_PKEY* key, const char* common_name, const char* subject_alt_names, long not_before,
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
  if (subject_alt_names == nullptr) {
    add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_extension(cert.get(), &ctx, NID_basic_constraints, "CA:FALSE");
    add_extension(cert.get(), &ctx, NID_subject_alt_name, subject_alt_names);
    add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth,clientAuth");
  }
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0)
    throw std::runtime_error("X509_sign failed");
  return cert;
}

inline void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) throw std::runtime_error("cannot write " + path);
  if (cert) PEM_write_X509(f, cert);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

// A test CA and certificates in a fresh temporary directory, each good for
// a server and a client: "server" (localhost, 127.0.0.1), "expired", for
// another host name ("wrong_host"), issued by a CA nobody trusts
// ("unknown_ca") and self-signed ("self_signed"), the last three for
// localhost and 127.0.0.1.
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
    key_ptr other_ca_key = new_key();
    cert_ptr other_ca =
        make_cert(other_ca_key.get(), "costream untrusted CA", nullptr, -3600, 30 * 86400, nullptr, nullptr, 5);
    issue("unknown_ca", "localhost", "DNS:localhost,IP:127.0.0.1", -3600, day, other_ca.get(), other_ca_key.get(), 6);
    issue("self_signed", "localhost", "DNS:localhost,IP:127.0.0.1", -3600, day, nullptr, nullptr, 7);
  }
  ~test_pki() {
    ::unlink(ca_file().c_str());
    for (const char* name : {"server", "expired", "wrong_host", "unknown_ca", "self_signed"}) {
      ::unlink(cert_file(name).c_str());
      ::unlink(key_file(name).c_str());
    }
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

inline const test_pki& pki() {
  static const test_pki instance;
  return instance;
}

inline asio::ssl::context client_context(bool trust_test_ca = true) {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  if (trust_test_ca) ctx.load_verify_file(pki().ca_file());
  return ctx;
}

inline asio::ssl::context server_context(const std::string& name = "server") {
  asio::ssl::context ctx(asio::ssl::context::tls_server);
  ctx.use_certificate_chain_file(pki().cert_file(name));
  ctx.use_private_key_file(pki().key_file(name), asio::ssl::context::pem);
  return ctx;
}

// ---- child processes -------------------------------------------------------------

inline std::string read_file(const std::string& path) {
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

inline std::vector<std::string> python_peer(std::vector<std::string> args) {
  args.insert(args.begin(), {COSTREAM_TEST_PYTHON, std::string(COSTREAM_TEST_SCRIPTS_DIR) + "/tls_peer.py"});
  return args;
}

// The port in the first line of a peer's output ("ACCEPT 127.0.0.1:PORT" or "PORT").
inline std::uint16_t port_in(const std::string& out) {
  const auto colon = out.find("127.0.0.1:");
  const std::string digits =
      colon != std::string::npos ? out.substr(colon + 10, out.find('\n', colon) - colon - 10) : out.substr(0, out.find('\n'));
  return static_cast<std::uint16_t>(std::stoi(digits));
}

// tls_options for tests. Not designated initializers: g++ 12 miscompiles
// an aggregate holding a std::string built as a temporary inside a coroutine.
inline tls_options with_hostname(asio::ssl::context& ctx, std::string hostname) {
  tls_options options(ctx);
  options.server_hostname = std::move(hostname);
  return options;
}

inline tls_options without_verification(asio::ssl::context& ctx) {
  tls_options options(ctx);
  options.verify_peer = false;
  return options;
}

inline tls_options with_timeouts(asio::ssl::context& ctx, std::chrono::milliseconds handshake,
                          std::chrono::milliseconds shutdown) {
  tls_options options(ctx);
  options.handshake_timeout = handshake;
  options.shutdown_timeout = shutdown;
  return options;
}

inline tls_options with_alpn(asio::ssl::context& ctx, std::vector<std::string> protocols) {
  tls_options options(ctx);
  options.alpn_protocols = std::move(protocols);
  return options;
}

// ---- costream peers ---------------------------------------------------------------

inline asio::awaitable<void> tls_echo(tls_stream_reader reader, tls_stream_writer writer) {
  for (std::string line; !(line = co_await reader.readline()).empty();) {
    writer.write("tls:" + line);
    co_await writer.drain();
  }
}

inline asio::awaitable<void> reply_once(tls_stream_reader reader, tls_stream_writer writer) {
  writer.write("pong:" + co_await reader.readline());
  co_await writer.drain();
}

// A server whose error handler counts failed handshakes.
// `verify_errors` counts those that were certificate_verify_errors.
struct counted_errors {
  std::shared_ptr<std::atomic<int>> count = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> verify_errors = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<costream::error_code> last = std::make_shared<costream::error_code>();
  server_error_handler handler() const {
    return [count = count, verify_errors = verify_errors, last = last](std::exception_ptr e) {
      try {
        std::rethrow_exception(e);
      } catch (const certificate_verify_error& ve) {
        *last = ve.code();
        ++*verify_errors;
      } catch (const costream::system_error& se) {
        *last = se.code();
      } catch (...) {
      }
      ++*count;
    };
  }
};

// One line through a fresh client; the reply.
inline asio::awaitable<std::string> exchange(std::uint16_t port, tls_options options, std::string host = "localhost") {
  auto [reader, writer] = co_await open_connection(host, port, {}, std::move(options));
  writer.write("hello\n");
  std::string reply = co_await reader.readline();
  writer.close();
  co_await writer.wait_closed();
  co_return reply;
}

// What a client's failed handshake threw: its code (empty when it succeeded).
inline asio::awaitable<costream::error_code> handshake_error(std::uint16_t port, tls_options options, std::string host = "localhost") {
  try {
    auto connection = co_await open_connection(host, port, {}, std::move(options));
  } catch (const certificate_verify_error& e) {
    co_return e.code();
  } catch (const costream::system_error& e) {
    co_return e.code();
  }
  co_return costream::error_code{};
}

}  // namespace costream::test

#endif
