// tests/integration/python_interop_test.cpp: costream talks to a real Python asyncio peer, as client and as server.
// SPDX-License-Identifier: BSL-1.0
#include "support/catch.hpp"
#include "support/loopback.hpp"
#include "support/run.hpp"

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

extern char** environ;

using namespace costream;
using namespace std::chrono_literals;

#if !defined(COSTREAM_TEST_PYTHON) || !defined(COSTREAM_TEST_SCRIPTS_DIR)
#error "the build defines COSTREAM_TEST_PYTHON and COSTREAM_TEST_SCRIPTS_DIR for the integration tests"
#endif

namespace {

// ---- the protocol of asyncio_peer.py (see its docstring) --------------------

const std::array<std::string, 3> texts{"hello", "h\xc3\xa9llo w\xc3\xb6rld", std::string(10000, 'x')};
constexpr std::array<std::size_t, 5> blob_sizes{0, 1, 1000, 100000, 1048576};
constexpr int pipelined = 5;
constexpr int expected_lines = 3 + pipelined;
constexpr int expected_blobs = 5;

std::string blob(std::size_t n) { return test::pattern(n, static_cast<unsigned>(n % 256)); }

std::string reversed(std::string s) {
  std::reverse(s.begin(), s.end());
  return s;
}

void expect(const char* what, const std::string& got, const std::string& wanted) {
  if (got != wanted)
    throw std::runtime_error(std::string(what) + ": got " + std::to_string(got.size()) + " bytes: \"" +
                             got.substr(0, 80) + "\"");
}

// What the costream server saw of its one client.
struct served {
  int lines = 0;
  int blobs = 0;
  bool eof_after_quit = false;
  std::string failure;
  bool done = false;
};

asio::awaitable<void> serve_protocol(served& result, stream_reader reader, stream_writer writer) {
  try {
    for (;;) {
      const std::string header = co_await reader.readline();
      if (header.empty()) throw std::runtime_error("end of stream before QUIT");
      const std::string line = header.substr(0, header.size() - 1);
      const auto space = line.find(' ');
      const std::string command = line.substr(0, space);
      const std::string argument = space == std::string::npos ? "" : line.substr(space + 1);
      if (command == "LINE") {
        writer.write("echo: " + argument + "\n");
        ++result.lines;
      } else if (command == "BLOB") {
        const std::size_t n = std::stoul(argument);
        const std::string data = co_await reader.readexactly(n);
        expect("blob from the client", data, blob(n));
        writer.write("BLOB " + std::to_string(n) + "\n");
        writer.write(reversed(data));
        ++result.blobs;
      } else if (command == "QUIT") {
        writer.write("BYE " + std::to_string(result.lines) + " " + std::to_string(result.blobs) + "\n");
        co_await writer.drain();
        const std::string rest = co_await reader.read();
        result.eof_after_quit = rest.empty();
        break;
      } else {
        throw std::runtime_error("unknown command: " + header);
      }
      co_await writer.drain();
    }
  } catch (const std::exception& e) {
    result.failure = e.what();
  }
  result.done = true;
}

// The client side of the script, as asyncio_peer.py's client runs it.
asio::awaitable<void> run_client_script(stream_reader reader, stream_writer writer) {
  for (const std::string& text : texts) {
    writer.write("LINE " + text + "\n");
    co_await writer.drain();
    const std::string reply = co_await reader.readline();
    expect("LINE reply", reply, "echo: " + text + "\n");
  }
  for (const std::size_t n : blob_sizes) {
    writer.write("BLOB " + std::to_string(n) + "\n");
    writer.write(blob(n));
    co_await writer.drain();
    const std::string header = co_await reader.readline();
    expect("BLOB header", header, "BLOB " + std::to_string(n) + "\n");
    const std::string payload = co_await reader.readexactly(n);
    expect("BLOB payload", payload, reversed(blob(n)));
  }
  std::vector<std::string> lines;
  for (int i = 0; i < pipelined; ++i) lines.push_back("LINE p" + std::to_string(i) + "\n");
  writer.writelines(lines);
  co_await writer.drain();
  for (int i = 0; i < pipelined; ++i) {
    const std::string reply = co_await reader.readline();
    expect("pipelined reply", reply, "echo: p" + std::to_string(i) + "\n");
  }
  writer.write("QUIT\n");
  const std::string bye = co_await reader.readline();
  expect("BYE", bye, "BYE " + std::to_string(expected_lines) + " " + std::to_string(expected_blobs) + "\n");
  writer.write_eof();
  const std::string rest = co_await reader.read();
  expect("end of stream", rest, "");
  writer.close();
  co_await writer.wait_closed();
}

// ---- the Python process -------------------------------------------------------

/// python3 asyncio_peer.py <mode> <port>, with its stdout on a pipe. The
/// process is known by its pid only: it is waited for with a bound and
/// killed (by pid) if it overruns or the test fails first.
class python_peer {
 public:
  python_peer(const asio::any_io_executor& executor, const std::string& mode, std::uint16_t port)
      : stdout_(executor) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::system_error(errno, std::generic_category(), "pipe2");
    const std::string python = COSTREAM_TEST_PYTHON;
    const std::string script = std::string(COSTREAM_TEST_SCRIPTS_DIR) + "/asyncio_peer.py";
    const std::string port_text = std::to_string(port);
    std::vector<std::string> args{python, "-u", script, mode, port_text};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears FD_CLOEXEC
    const int rc = ::posix_spawn(&pid_, python.c_str(), &actions, nullptr, argv.data(), environ);
    ::posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
      ::close(fds[0]);
      throw std::system_error(rc, std::generic_category(), "posix_spawn " + python);
    }
    running_ = true;
    stdout_.assign(fds[0]);
  }

  python_peer(const python_peer&) = delete;
  python_peer& operator=(const python_peer&) = delete;

  ~python_peer() {
    if (running_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

  /// The next line of its stdout, without the newline; throws at end of output.
  asio::awaitable<std::string> read_line() {
    const std::size_t n = co_await asio::async_read_until(stdout_, asio::dynamic_buffer(output_), '\n',
                                                          asio::use_awaitable);
    std::string line = output_.substr(0, n - 1);
    output_.erase(0, n);
    co_return line;
  }

  /// Everything it printed that was not read yet, up to the end of its output.
  asio::awaitable<std::string> read_rest() {
    auto [ec, n] = co_await asio::async_read(stdout_, asio::dynamic_buffer(output_), compat::use_tuple);
    (void)n;
    if (ec && ec != asio::error::eof) throw costream::system_error(ec, "reading the Python peer's output");
    co_return std::exchange(output_, std::string());
  }

  /// Waits for it to exit, polling, for at most `timeout`; then kills it.
  /// Returns its exit status, or empty if it had to be killed.
  asio::awaitable<std::optional<int>> wait(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (running_) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        running_ = false;
        if (WIFEXITED(status)) co_return WEXITSTATUS(status);
        co_return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
      }
      if (r < 0 && errno != EINTR) throw std::system_error(errno, std::generic_category(), "waitpid");
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        running_ = false;
        co_return std::nullopt;
      }
      co_await test::sleep_for(10ms);
    }
    co_return std::nullopt;
  }

 private:
  pid_t pid_ = -1;
  bool running_ = false;
  asio::posix::stream_descriptor stdout_;
  std::string output_;
};

}  // namespace

TEST_CASE("a Python asyncio client exchanges lines and exact-size blobs with a costream server", "[python]") {
  served result;
  test::run(
      [&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        auto server = co_await start_server(
            [&](stream_reader reader, stream_writer writer) { return serve_protocol(result, reader, writer); },
            "127.0.0.1", 0);
        python_peer python(executor, "client", server.sockets()[0].port());
        const std::optional<int> status = co_await python.wait(25s);  // the server serves meanwhile
        const std::string output = co_await python.read_rest();
        INFO("the Python client printed: " << output);
        REQUIRE(status.has_value());  // it exited by itself
        CHECK(*status == 0);
        CHECK(output == "OK lines=8 blobs=5\n");
        const bool finished = co_await test::eventually([&] { return result.done; }, 5s);
        CHECK(finished);
        server.close();
        co_await server.wait_closed();
      },
      40s);
  INFO("the costream server reported: " << result.failure);
  CHECK(result.failure.empty());
  CHECK(result.lines == expected_lines);
  CHECK(result.blobs == expected_blobs);
  CHECK(result.eof_after_quit);
}

TEST_CASE("a costream client exchanges lines and exact-size blobs with a Python asyncio server", "[python]") {
  test::run(
      [&]() -> asio::awaitable<void> {
        auto executor = co_await asio::this_coro::executor;
        python_peer python(executor, "server", 0);
        const auto port_line = co_await test::within(python.read_line(), 15s);
        REQUIRE(port_line.has_value());
        const int port = std::stoi(*port_line);
        REQUIRE(port > 0);
        REQUIRE(port < 65536);

        auto [reader, writer] = co_await open_connection("127.0.0.1", static_cast<std::uint16_t>(port));
        std::string failure;
        try {
          co_await run_client_script(reader, writer);
        } catch (const std::exception& e) {
          failure = e.what();
        }
        CHECK(failure.empty());
        CHECK(reader.at_eof());

        const std::optional<int> status = co_await python.wait(25s);
        const std::string output = co_await python.read_rest();
        INFO("the Python server printed: " << output);
        REQUIRE(status.has_value());
        CHECK(*status == 0);
        CHECK(output == "SERVED lines=8 blobs=5 eof=True\n");
      },
      40s);
}
