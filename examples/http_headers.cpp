// examples/http_headers.cpp: get a URL's HTTP headers, over TLS for https (asyncio's "Get HTTP
// headers" example).
// SPDX-License-Identifier: BSL-1.0
//
//   http_headers [--get] [--cafile PATH] URL      URL: http[s]://host[:port][/path]
//
// Connects to host (port 80 for http, 443 for https unless the URL gives one), sends
// "HEAD <path> HTTP/1.1" (GET with --get), prints the status line and the header lines, and
// exits 0. Any failure (no connection, a refused certificate, no HTTP answer) is one line on
// stderr and exit status 1; bad arguments exit 2.
//
// What it teaches: the plain and the TLS connection are the same code. open_connection returns
// a reader and a writer either way; with tls_options it also runs the handshake, which sends the
// host as SNI (not an IP address: RFC 6066 forbids it) and verifies the server's certificate
// against the trusted CAs (--cafile's, else the system's) and against the host: a DNS name
// must be among the certificate's names, an IP address among its addresses. A refusal is a
// typed certificate_verify_error, thrown before any byte of the request is sent.
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support
#include <costream/tls.hpp>       // not in costream.hpp: link costream::tls (OpenSSL)

#include <charconv>
#include <chrono>
#include <cstdint>
#include <exception>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

namespace net = costream::net;

struct url {
  bool https = false;
  std::string host, authority, path;  // authority: host[:port] as written, for the Host header
  std::uint16_t port = 0;
};

std::optional<url> parse_url(std::string_view text) {
  url u;
  u.https = text.starts_with("https://");
  if (!u.https && !text.starts_with("http://")) return std::nullopt;
  text.remove_prefix(u.https ? 8 : 7);
  const auto slash = text.find('/');
  const std::string_view authority = text.substr(0, slash);
  u.authority = authority;
  u.path = slash == std::string_view::npos ? "/" : text.substr(slash);
  // host, host:port, [IPv6 address], [IPv6 address]:port
  const bool v6 = authority.starts_with('[');
  const auto host_end = authority.find(v6 ? ']' : ':');
  if (v6 && host_end == std::string_view::npos) return std::nullopt;
  u.host = authority.substr(v6 ? 1 : 0, v6 ? host_end - 1 : host_end);
  std::string_view port = host_end == std::string_view::npos ? "" : authority.substr(host_end + (v6 ? 1 : 0));
  u.port = u.https ? 443 : 80;
  if (!port.empty()) {
    if (!port.starts_with(':')) return std::nullopt;
    port.remove_prefix(1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), u.port);
    if (ec != std::errc() || end != port.data() + port.size() || u.port == 0) return std::nullopt;
  }
  if (u.host.empty()) return std::nullopt;
  return u;
}

// The same for TCP and TLS: the Stream type is all that differs.
template <class Stream>
net::awaitable<void> exchange(costream::basic_connection<Stream> connection, std::string request, bool get) {
  auto& [reader, writer] = connection;
  writer.write(request);
  co_await writer.drain();
  // "HTTP/1.1 200 OK", then "Name: value" lines up to an empty one (or "": end of stream).
  std::string line = co_await reader.readline();
  if (!line.starts_with("HTTP/")) throw std::runtime_error("not an HTTP response: \"" + line.substr(0, 40) + "\"");
  for (; !line.empty() && line != "\r\n" && line != "\n"; line = co_await reader.readline())
    std::cout << line.substr(0, line.find_last_not_of("\r\n") + 1) << '\n';
  // A GET's body: read it (and drop it) to the end of the stream, which "Connection: close"
  // asked for. Closing a socket with unread input would send a reset instead of a clean close.
  costream::error_code ec;
  if (get) {
    std::string chunk;
    do chunk = co_await reader.read(64 * 1024, ec);  // "" at end of stream (or on an error)
    while (!chunk.empty());
  }
  writer.close();                   // over TLS: sends close_notify
  co_await writer.wait_closed(ec);  // and waits for the server's (5 s at most); none is no failure
}

net::awaitable<void> get_headers(url u, bool get, std::string cafile) {
  const std::string request = (get ? "GET " : "HEAD ") + u.path + " HTTP/1.1\r\nHost: " + u.authority +
                              "\r\nUser-Agent: costream-http_headers\r\nConnection: close\r\n\r\n";
  costream::connection_options options;
  options.connect_timeout = std::chrono::seconds(10);
  if (!u.https) {
    auto connection = co_await costream::open_connection(u.host, u.port, options);
    co_await exchange(std::move(connection), request, get);
    co_return;
  }
  // Whom to trust: the CA file given, else the system's CAs.
  net::ssl::context ctx(net::ssl::context::tls_client);
  if (cafile.empty())
    ctx.set_default_verify_paths();
  else
    ctx.load_verify_file(cafile);
  costream::tls_options tls(ctx);  // verify_peer is on; the name checked (and SNI) is u.host
  tls.handshake_timeout = std::chrono::seconds(10);
  tls.shutdown_timeout = std::chrono::seconds(5);
  auto connection = co_await costream::open_connection(u.host, u.port, options, tls);
  co_await exchange(std::move(connection), request, get);
}

}  // namespace

int main(int argc, char* argv[]) {
  bool get = false;
  std::string cafile;
  std::optional<url> u;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--get") {
      get = true;
    } else if (arg == "--cafile" && i + 1 < argc) {
      cafile = argv[++i];
    } else if (u || !(u = parse_url(arg))) {
      u.reset();
      break;
    }
  }
  if (!u) {
    std::cerr << "usage: http_headers [--get] [--cafile PATH] http[s]://host[:port][/path]\n";
    return 2;
  }

  net::io_context io;
  int status = 1;
  net::co_spawn(io, get_headers(*u, get, cafile), [&](std::exception_ptr e) {
    try {
      if (e) std::rethrow_exception(e);
      status = 0;
    } catch (const costream::certificate_verify_error& ex) {
      // Typed: ex.code() == costream::tls_verify_errc::hostname_mismatch, ip_address_mismatch,
      // unable_to_get_issuer_certificate_locally, certificate_has_expired, ...
      std::cerr << "http_headers: certificate verify failed for " << u->host << ": " << ex.verify_message() << '\n';
    } catch (const std::exception& ex) {
      std::cerr << "http_headers: " << u->host << ": " << ex.what() << '\n';
    }
  });
  io.run();
  return status;
}
