// examples/demo.cpp: a server and a client in one program, talking over loopback.
// SPDX-License-Identifier: BSL-1.0
//
// The server speaks a tiny protocol that exercises each kind of read:
//   "HELLO <name>\n"            -> "hi <name>\n"                       (readline)
//   "BLOB <n>\n" + n bytes      -> "got <n> bytes, sum <s>\r\n\r\n"    (readexactly; reply read with readuntil)
//   a line over the limit       -> "ERR line too long\n"               (limit_overrun_error; the server goes on)
//   end of stream inside a BLOB -> "ERR incomplete: got <k> of <n>\n"  (incomplete_read_error.partial())
// The client sends 1 MiB through write() + drain() (flow control), then
// half-closes in the middle of a BLOB and reads the server's last word.
// The program prints the conversation and exits 0 when every reply was right.
#include <costream/costream.hpp>

#include <iostream>
#include <numeric>
#include <string>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

namespace {

constexpr std::size_t limit = 1024;  // small on purpose, to show the over-long line error

net::awaitable<void> serve_client(costream::stream_reader reader, costream::stream_writer writer) {
  try {
    for (;;) {
      std::string line;
      try {
        line = co_await reader.readline();
      } catch (const costream::limit_overrun_error&) {
        // costream discards the whole over-long line, so the next read starts clean.
        writer.write("ERR line too long\n");
        continue;
      }
      if (line.empty()) break;  // the client closed its side
      if (line.starts_with("HELLO ")) {
        writer.write("hi " + line.substr(6));
      } else if (line.starts_with("BLOB ")) {
        const std::size_t n = std::stoul(line.substr(5));
        std::string blob = co_await reader.readexactly(n);
        const auto sum = std::accumulate(blob.begin(), blob.end(), 0ul,
                                         [](unsigned long s, char c) { return s + static_cast<unsigned char>(c); });
        writer.write("got " + std::to_string(blob.size()) + " bytes, sum " + std::to_string(sum) + "\r\n\r\n");
      } else {
        writer.write("ERR unknown command\n");
      }
      co_await writer.drain();
    }
  } catch (const costream::incomplete_read_error& e) {
    // End of stream in the middle of a frame: the bytes that did arrive are in the error.
    writer.write("ERR incomplete: got " + std::to_string(e.partial().size()) + " of " +
                 std::to_string(e.expected().value_or(0)) + "\n");
  }
  writer.close();
  co_await writer.wait_closed();
}

int failures = 0;

void expect(const std::string& what, const std::string& got, const std::string& want) {
  std::cout << what << ": " << got;
  if (got.empty() || got.back() != '\n') std::cout << '\n';
  if (got != want) {
    std::cout << "  expected: " << want << '\n';
    ++failures;
  }
}

net::awaitable<void> client(std::uint16_t port) {
  auto [reader, writer] = co_await costream::open_connection("127.0.0.1", port);

  writer.write("HELLO costream\n");
  expect("readline", co_await reader.readline(), "hi costream\n");

  // 1 MiB in one write: write() buffers it, drain() waits until the socket
  // has taken enough that the buffer is under the low-water mark.
  std::string big(1 << 20, '\x01');
  writer.write("BLOB " + std::to_string(big.size()) + "\n");
  writer.write(big);
  std::cout << "buffered before drain: " << writer.get_write_buffer_size() << " bytes\n";
  co_await writer.drain();
  expect("readuntil", co_await reader.readuntil("\r\n\r\n"), "got 1048576 bytes, sum 1048576\r\n\r\n");

  writer.write(std::string(4 * limit, 'x') + "\n");
  writer.write("HELLO again\n");
  expect("after an over-long line", co_await reader.readline(), "ERR line too long\n");
  expect("the next line is intact", co_await reader.readline(), "hi again\n");

  // Half-close mid-frame: the server's readexactly sees end of stream after 4 of 10 bytes.
  writer.write("BLOB 10\nabcd");
  writer.write_eof();
  expect("server's last word", co_await reader.readline(), "ERR incomplete: got 4 of 10\n");
  expect("then end of stream", co_await reader.read(), "");
  std::cout << "at_eof: " << std::boolalpha << reader.at_eof() << '\n';
  writer.close();
  co_await writer.wait_closed();
}

net::awaitable<void> demo() {
  costream::server_options options;
  options.limit = limit;
  auto server = co_await costream::start_server(serve_client, "127.0.0.1", 0, options);
  std::cout << "server listening on " << server.sockets()[0] << '\n';
  co_await client(server.sockets()[0].port());
  server.close();
  co_await server.wait_closed();  // waits for serve_client to return too
  std::cout << (failures == 0 ? "all replies as expected\n" : "some replies were wrong\n");
}

}  // namespace

int main() {
  net::io_context io;
  net::co_spawn(io, demo(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return failures == 0 ? 0 : 1;
}
