// tests/support/hostile.hpp: helpers for hostile-peer and soak tests: raw peers, resource counts, checksums.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_HOSTILE_HPP
#define COSTREAM_TESTS_SUPPORT_HOSTILE_HPP

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <sys/resource.h>

#include <csignal>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace costream::test {

/// Open file descriptors of this process (entries of /proc/self/fd; the
/// directory's own descriptor counts once, before and after alike).
inline std::size_t count_open_fds() {
  std::size_t n = 0;
  costream::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return n;
}

/// Resident set size in bytes (VmRSS of /proc/self/status); 0 if unknown.
inline std::size_t resident_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return static_cast<std::size_t>(std::stoull(line.substr(6))) * 1024;
  }
  return 0;
}

/// Raises the soft RLIMIT_NOFILE to the hard limit for the object's
/// lifetime, then restores it. limit() is the soft limit in force.
class fd_limit_raised {
 public:
  fd_limit_raised() {
    if (::getrlimit(RLIMIT_NOFILE, &saved_) != 0) return;
    ok_ = true;
    rlimit raised = saved_;
    raised.rlim_cur = saved_.rlim_max;
    if (raised.rlim_cur != saved_.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) changed_ = true;
  }
  ~fd_limit_raised() {
    if (changed_) ::setrlimit(RLIMIT_NOFILE, &saved_);
  }
  fd_limit_raised(const fd_limit_raised&) = delete;
  fd_limit_raised& operator=(const fd_limit_raised&) = delete;

  std::size_t limit() const {
    rlimit now{};
    if (::getrlimit(RLIMIT_NOFILE, &now) != 0) return 0;
    if (now.rlim_cur == RLIM_INFINITY) return static_cast<std::size_t>(1) << 20;
    return static_cast<std::size_t>(now.rlim_cur);
  }

 private:
  rlimit saved_{};
  bool ok_ = false;
  bool changed_ = false;
};

/// Counts SIGPIPE while alive (instead of the default action, which kills
/// the process), so a test can check that none was raised.
class sigpipe_counter {
 public:
  sigpipe_counter() {
    count() = 0;
    struct sigaction action{};
    action.sa_handler = &on_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGPIPE, &action, &saved_);
  }
  ~sigpipe_counter() { ::sigaction(SIGPIPE, &saved_, nullptr); }
  sigpipe_counter(const sigpipe_counter&) = delete;
  sigpipe_counter& operator=(const sigpipe_counter&) = delete;

  int raised() const { return count(); }

 private:
  static volatile std::sig_atomic_t& count() {
    static volatile std::sig_atomic_t n = 0;
    return n;
  }
  static void on_signal(int) { count() = count() + 1; }

  struct sigaction saved_{};
};

/// FNV-1a, 64 bits, over a byte stream fed in pieces.
struct fnv1a {
  std::uint64_t hash = 14695981039346656037ULL;
  std::uint64_t bytes = 0;

  void add(std::string_view data) {
    for (unsigned char c : data) {
      hash ^= c;
      hash *= 1099511628211ULL;
    }
    bytes += data.size();
  }
};

/// A raw peer: a plain Asio socket connected to 127.0.0.1:port, with an
/// optional SO_RCVBUF set before connecting (so that it holds from the
/// handshake on). (A port, not an endpoint: g++ 12 cannot copy an endpoint
/// into a coroutine frame.)
inline asio::awaitable<asio::ip::tcp::socket> raw_connect(std::uint16_t port,
                                                         std::optional<int> receive_buffer = std::nullopt) {
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  asio::ip::tcp::socket socket(co_await asio::this_coro::executor);
  socket.open(endpoint.protocol());
  if (receive_buffer) socket.set_option(asio::socket_base::receive_buffer_size(*receive_buffer));
  co_await socket.async_connect(endpoint, asio::use_awaitable);
  co_return socket;
}

/// Reads one line (through "\n") from a raw socket; `pending` keeps what was
/// read past it. Returns what there was (maybe without "\n") at end of
/// stream or on an error, reported in `ec`.
inline asio::awaitable<std::string> raw_readline(asio::ip::tcp::socket& socket, std::string& pending,
                                                 costream::error_code& ec) {
  auto [error, n] =
      co_await asio::async_read_until(socket, asio::dynamic_buffer(pending), '\n', compat::use_tuple);
  ec = error;
  const std::size_t take = error ? pending.size() : n;
  std::string line = pending.substr(0, take);
  pending.erase(0, take);
  co_return line;
}

/// Reads a raw socket to end of stream or error and returns what it got;
/// how it ended in `ec` (eof for a clean end).
inline asio::awaitable<std::string> raw_read_to_end(asio::ip::tcp::socket& socket, costream::error_code& ec) {
  std::string all;
  std::string chunk(64 * 1024, '\0');
  for (;;) {
    auto [error, n] = co_await socket.async_read_some(asio::buffer(chunk), compat::use_tuple);
    all.append(chunk, 0, n);
    if (error) {
      ec = error;
      co_return all;
    }
  }
}

/// Is `ec` one of the ways a write to a vanished peer is reported?
inline bool is_peer_gone(const costream::error_code& ec) {
  return ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
         ec == make_error_code(errc::connection_lost);
}

}  // namespace costream::test

#endif
