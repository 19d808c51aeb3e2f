// examples/resp_server.cpp: a small Redis-protocol (RESP2) server; redis-cli and redis-benchmark talk to it.
// SPDX-License-Identifier: BSL-1.0
//
//   resp_server [port]          port 0 (the default) lets the system pick one
//
// Commands: PING [msg], ECHO msg, GET key, SET key value, DEL key..., INCR key, over one
// in-memory map shared by every client; inline commands ("PING\r\n") too. Two ideas:
//  1. Framing with readuntil + readexactly. A command is "*<n>\r\n" then n bulk strings
//     "$<len>\r\n<len bytes>\r\n". Header lines come from readuntil("\r\n"), bounded by the
//     reader's limit; bulk payloads from readexactly, which is not bounded by it, and whose
//     bytes may contain "\r\n" themselves.
//  2. Pipelining for free. write() only buffers; the flush runs when the coroutine next
//     waits for input. A client that sends 16 commands in one packet gets 16 replies in
//     one packet, with no batching code here.
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

namespace {

using database = std::unordered_map<std::string, std::string>;

// A malformed frame: Redis answers "-ERR Protocol error: ..." and closes the connection.
struct protocol_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Parses the decimal number after the type byte of a header line ("*3", "$5").
long long header_number(const std::string& line, long long max) {
  long long n = -1;
  auto [end, ec] = std::from_chars(line.data() + 1, line.data() + line.size(), n);
  if (ec != std::errc() || end != line.data() + line.size() || n < 0 || n > max)
    throw protocol_error("invalid " + std::string(line[0] == '*' ? "multibulk" : "bulk") + " length");
  return n;
}

// Reads one command as its list of arguments (possibly none); nullopt at a clean end of stream.
net::awaitable<std::optional<std::vector<std::string>>> read_command(costream::stream_reader& reader) {
  std::string line;
  try {
    line = co_await reader.readuntil("\r\n");
  } catch (const costream::incomplete_read_error& e) {
    if (e.partial().empty()) co_return std::nullopt;  // the client closed between commands
    throw;
  }
  line.resize(line.size() - 2);  // readuntil keeps the separator
  if (!line.starts_with('*')) {  // an inline command, as typed into telnet: "SET a 1"
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string word; in >> word;) words.push_back(word);
    co_return words;
  }

  std::vector<std::string> args(static_cast<std::size_t>(header_number(line, 1024 * 1024)));
  for (auto& arg : args) {
    std::string header = co_await reader.readuntil("\r\n");
    header.resize(header.size() - 2);
    if (header.empty() || header[0] != '$') throw protocol_error("expected '$', got '" + header.substr(0, 1) + "'");
    const auto size = static_cast<std::size_t>(header_number(header, 512 * 1024 * 1024));
    arg = co_await reader.readexactly(size + 2);  // the payload and its "\r\n"
    if (!arg.ends_with("\r\n")) throw protocol_error("bulk string not followed by CRLF");
    arg.resize(size);
  }
  co_return args;
}

std::string bulk(const std::string& s) { return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n"; }
std::string integer(long long n) { return ":" + std::to_string(n) + "\r\n"; }

// Runs one command and returns its RESP reply. Plain code: no I/O here.
std::string execute(database& db, std::vector<std::string>& args) {
  std::string& name = args[0];
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::toupper(c); });
  const std::size_t argc = args.size();
  auto arity = [&](bool ok) { return ok ? "" : "-ERR wrong number of arguments for '" + args[0] + "' command\r\n"; };

  if (name == "PING") return argc == 1 ? "+PONG\r\n" : argc == 2 ? bulk(args[1]) : arity(false);
  if (name == "ECHO") return argc == 2 ? bulk(args[1]) : arity(false);
  if (name == "GET") {
    if (argc != 2) return arity(false);
    auto it = db.find(args[1]);
    return it == db.end() ? "$-1\r\n" : bulk(it->second);  // $-1: the null bulk string
  }
  if (name == "SET") {
    if (argc != 3) return argc < 3 ? arity(false) : "-ERR syntax error\r\n";
    db[args[1]] = std::move(args[2]);
    return "+OK\r\n";
  }
  if (name == "DEL") {
    if (argc < 2) return arity(false);
    long long removed = 0;
    for (std::size_t i = 1; i < argc; ++i) removed += static_cast<long long>(db.erase(args[i]));
    return integer(removed);
  }
  if (name == "INCR") {
    if (argc != 2) return arity(false);
    std::string& value = db[args[1]];  // a missing key counts from 0
    long long n = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (!value.empty() && (ec != std::errc() || end != value.data() + value.size() || n == std::numeric_limits<long long>::max()))
      return "-ERR value is not an integer or out of range\r\n";
    value = std::to_string(++n);
    return integer(n);
  }
  return "-ERR unknown command '" + args[0] + "'\r\n";
}

net::awaitable<void> serve_client(database& db, costream::stream_reader reader, costream::stream_writer writer) {
  try {
    for (;;) {
      auto args = co_await read_command(reader);
      if (!args) break;
      if (!args->empty()) writer.write(execute(db, *args));
      // drain() returns at once unless the client stops reading its replies and more than
      // the high-water mark piles up: then it waits, and we stop reading its commands.
      co_await writer.drain();
    }
  } catch (const protocol_error& e) {
    writer.write(std::string("-ERR Protocol error: ") + e.what() + "\r\n");
  } catch (const costream::limit_overrun_error&) {
    // A header line longer than the reader's limit (64 KiB): nothing sane can follow.
    writer.write("-ERR Protocol error: too big header line\r\n");
  } catch (const costream::system_error&) {
    // The client went away in the middle of a command (incomplete_read_error) or reset the
    // connection: nobody to answer.
  }
  writer.close();
  costream::error_code ignored;  // a reset is no news here
  co_await writer.wait_closed(ignored);
}

net::awaitable<void> serve(std::uint16_t port) {
  database db;
  // Every client runs on this one thread, so they share `db` without a lock; with no
  // threads to keep apart, the per-connection strands would be pure overhead.
  costream::server_options options;
  options.strand_per_connection = false;
  auto client = [&db](costream::stream_reader r, costream::stream_writer w) { return serve_client(db, r, w); };
  auto server = co_await costream::start_server(client, "127.0.0.1", port, options);
  std::cout << "listening on " << server.sockets()[0] << std::endl;

  net::signal_set signals(co_await net::this_coro::executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) { server.close(); });
  co_await server.serve_forever();
  server.close_clients();
  co_await server.wait_closed();  // `db` outlives every client coroutine
  std::cout << "closed" << std::endl;
}

}  // namespace

int main(int argc, char* argv[]) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoul(argv[1]) : 0);
  net::io_context io;  // run by this one thread only
  net::co_spawn(io, serve(port), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
