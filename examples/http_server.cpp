// examples/http_server.cpp: a minimal HTTP/1.1 server with keep-alive; curl and wrk talk to it.
// SPDX-License-Identifier: BSL-1.0
//
//   http_server [port]          port 0 (the default) lets the system pick one
//
// GET / answers a fixed text; POST /echo answers with the request's body. Two ideas:
//  1. The reader's limit is the header limit. Request and header lines come from
//     readuntil("\r\n"), which throws limit_overrun_error when no "\r\n" comes within the
//     limit: the server answers 413 without ever buffering more than that. Bodies, sized by
//     Content-Length or by each chunk of a chunked body, come from readexactly.
//  2. A connection is a loop of requests (keep-alive). Only an error or "Connection: close"
//     ends it; an error is answered, then the connection half-closes and drains (below).
// Not shown: timeouts. A real server races each read against a timer (reads are cancel-safe).
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

namespace {

constexpr std::size_t header_limit = 8 * 1024;        // the longest request or header line
constexpr std::size_t body_limit = 16 * 1024 * 1024;  // the largest body

// A request the server refuses: 400 (malformed) or 413 (too large). The connection ends.
struct http_error {
  int status;
};

struct request {
  std::string method, target, version, body;
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  const std::string* header(std::string_view name) const {
    auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return h.first == name; });
    return it == headers.end() ? nullptr : &it->second;
  }
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::size_t parse_size(std::string_view digits, int base) {
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n, base);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size()) throw http_error{400};
  if (n > body_limit) throw http_error{413};
  return n;
}

// A line without its "\r\n"; limit_overrun_error past header_limit.
net::awaitable<std::string> read_line(costream::stream_reader& reader) {
  std::string line = co_await reader.readuntil("\r\n");
  line.resize(line.size() - 2);
  co_return line;
}

// Reads one request; nullopt when the client closed the connection between requests.
net::awaitable<std::optional<request>> read_request(costream::stream_reader& reader, costream::stream_writer& writer) {
  request req;
  std::string line;
  try {
    line = co_await read_line(reader);
  } catch (const costream::incomplete_read_error& e) {
    if (e.partial().empty()) co_return std::nullopt;
    throw;
  }
  // "GET /path HTTP/1.1"
  const auto sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == 0 || sp1 == sp2 || sp1 == std::string::npos) throw http_error{400};
  req.method = line.substr(0, sp1), req.target = line.substr(sp1 + 1, sp2 - sp1 - 1), req.version = line.substr(sp2 + 1);
  if (req.version != "HTTP/1.1" && req.version != "HTTP/1.0") throw http_error{400};
  // "Name: value" lines up to an empty line
  for (std::string h; !(h = co_await read_line(reader)).empty();) {
    const auto colon = h.find(':');
    if (colon == 0 || colon == std::string::npos || h.find(' ') < colon) throw http_error{400};
    const auto value = h.find_first_not_of(" \t", colon + 1);
    req.headers.emplace_back(lower(h.substr(0, colon)), value == std::string::npos ? "" : h.substr(value));
    if (req.headers.size() > 100) throw http_error{413};
  }
  // The body. "Expect: 100-continue" (curl sends it before large bodies) asks us to say we
  // want it; write() buffers the answer, and it leaves when readexactly waits for the body.
  auto wants_body = [&] {
    if (auto e = req.header("expect"); e && lower(*e) == "100-continue") writer.write("HTTP/1.1 100 Continue\r\n\r\n");
  };
  if (const std::string* te = req.header("transfer-encoding")) {
    if (lower(*te) != "chunked" || req.header("content-length")) throw http_error{400};
    wants_body();
    for (;;) {  // "<hex size>[;extension]\r\n<size bytes>\r\n", ending with size 0
      std::string size_line = co_await read_line(reader);
      const std::size_t size = parse_size(std::string_view(size_line).substr(0, size_line.find(';')), 16);
      if (req.body.size() + size > body_limit) throw http_error{413};
      if (size == 0) break;
      req.body += co_await reader.readexactly(size);
      if (co_await reader.readexactly(2) != "\r\n") throw http_error{400};
    }
    while (!(co_await read_line(reader)).empty()) {}  // trailer fields, ignored
  } else if (const std::string* cl = req.header("content-length")) {
    const std::size_t size = parse_size(*cl, 10);
    if (size > 0) wants_body();
    req.body = co_await reader.readexactly(size);
  }
  co_return req;
}

std::string response(int status, std::string_view reason, std::string_view body, bool keep_alive) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
         (keep_alive ? "" : "Connection: close\r\n") + "\r\n" + std::string(body);
}

std::string respond(const request& req, bool keep_alive) {
  if (req.method == "GET" && req.target == "/") return response(200, "OK", "Hello from costream\n", keep_alive);
  if (req.method == "POST" && req.target == "/echo") return response(200, "OK", req.body, keep_alive);
  if (req.target == "/" || req.target == "/echo") return response(405, "Method Not Allowed", "", keep_alive);
  return response(404, "Not Found", "not found\n", keep_alive);
}

net::awaitable<void> serve_client(costream::stream_reader reader, costream::stream_writer writer) {
  int error_status = 0;
  try {
    while (auto req = co_await read_request(reader, writer)) {
      const std::string* connection = req->header("connection");
      const std::string option = connection ? lower(*connection) : "";
      const bool keep_alive = req->version == "HTTP/1.1" ? option != "close" : option == "keep-alive";
      writer.write(respond(*req, keep_alive));
      co_await writer.drain();  // a large reply waits here while the client catches up
      if (!keep_alive) break;
    }
  } catch (const http_error& e) {
    error_status = e.status;
  } catch (const costream::limit_overrun_error&) {
    error_status = 413;  // a line longer than header_limit
  } catch (const costream::system_error&) {
    // The client left in the middle of a request (incomplete_read_error) or reset the connection.
  }
  if (error_status) {
    writer.write(response(error_status, error_status == 400 ? "Bad Request" : "Content Too Large", "", false));
    // Closing a socket with unread input makes the kernel send a reset, which can destroy
    // the answer before the client reads it. So: half-close (the client reads the answer,
    // then end of stream), read what the client still sends until it closes, then close.
    writer.write_eof();
    costream::error_code ec;
    for (std::size_t n = 0, dropped = 0; dropped < body_limit; dropped += n)
      if ((n = (co_await reader.read(65536, ec)).size()) == 0) break;  // end of stream or error
  }
  writer.close();
  costream::error_code ignored;
  co_await writer.wait_closed(ignored);
}

net::awaitable<void> serve(std::uint16_t port) {
  costream::server_options options;
  options.limit = header_limit;
  auto server = co_await costream::start_server(serve_client, "127.0.0.1", port, options);
  std::cout << "listening on " << server.sockets()[0] << std::endl;

  net::signal_set signals(co_await net::this_coro::executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) { server.close(); });
  co_await server.serve_forever();
  server.close_clients();  // idle keep-alive connections see end of stream and end
  co_await server.wait_closed();
  std::cout << "closed" << std::endl;
}

}  // namespace

int main(int argc, char* argv[]) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoul(argv[1]) : 0);
  net::io_context io;
  net::co_spawn(io, serve(port), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
