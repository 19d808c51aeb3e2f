// examples/echo_client.cpp: connect, send each argument as a line, check each echo.
// SPDX-License-Identifier: BSL-1.0
//
//   echo_client <port> word...    exits 0 when every echo matched, 1 otherwise
#include <costream/costream.hpp>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

namespace net = costream::net;  // standalone Asio, or Boost.Asio (COSTREAM_USE_BOOST_ASIO)

net::awaitable<int> talk(std::uint16_t port, std::vector<std::string> words) {
  auto [reader, writer] = co_await costream::open_connection("127.0.0.1", port);

  // Pipelining: write every line first (write() only buffers), then read the replies.
  for (const auto& word : words) writer.write(word + "\n");
  co_await writer.drain();

  int failures = 0;
  for (const auto& word : words) {
    std::string echo = co_await reader.readline();
    std::cout << "sent " << word << ", got " << echo;
    if (echo != word + "\n") {
      std::cout << "  <-- mismatch\n";
      ++failures;
    }
  }

  // Half-close: tell the server we are done; it sees end of stream and closes too.
  writer.write_eof();
  std::string rest = co_await reader.read();  // to end of stream: nothing more expected
  if (!rest.empty()) ++failures;
  writer.close();
  co_await writer.wait_closed();
  co_return failures == 0 ? 0 : 1;
}

int main(int argc, char* argv[]) {
  if (argc < 3) {
    std::cerr << "usage: echo_client <port> word...\n";
    return 2;
  }
  const auto port = static_cast<std::uint16_t>(std::stoul(argv[1]));
  std::vector<std::string> words(argv + 2, argv + argc);

  net::io_context io;
  int status = 1;
  net::co_spawn(io, talk(port, std::move(words)), [&](std::exception_ptr e, int result) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "echo_client: " << ex.what() << '\n';
      }
      return;
    }
    status = result;
  });
  io.run();
  return status;
}
