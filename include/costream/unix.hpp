// costream/unix.hpp: open_unix_connection and start_unix_server over Unix domain sockets.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_UNIX_HPP
#define COSTREAM_UNIX_HPP

#include <costream/compat.hpp>
#include <costream/connection.hpp>
#include <costream/server.hpp>
#include <costream/start_server.hpp>

#include <asio/local/stream_protocol.hpp>
#include <asio/this_coro.hpp>

#if !defined(ASIO_HAS_LOCAL_SOCKETS)
#error "costream/unix.hpp needs Asio's local (Unix domain) sockets"
#endif

#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace costream {

using unix_stream_reader = basic_stream_reader<asio::local::stream_protocol::socket>;
using unix_stream_writer = basic_stream_writer<asio::local::stream_protocol::socket>;
using unix_connection = basic_connection<asio::local::stream_protocol::socket>;
using unix_server = basic_server<asio::local::stream_protocol>;

struct unix_connection_options {
  /// The reader's limit (see basic_stream_reader::limit).
  std::size_t limit = COSTREAM_DEFAULT_LIMIT;
};

struct unix_server_options {
  /// Each reader's limit.
  std::size_t limit = COSTREAM_DEFAULT_LIMIT;
  /// listen() backlog.
  int backlog = 100;
  /// Give each connection its own strand (see server_options).
  bool strand_per_connection = true;
  /// Start accepting at once.
  bool start_serving = true;
  /// Remove the socket file when the server closes, if it is still the one
  /// this server created (asyncio 3.13's cleanup_socket).
  bool cleanup_socket = true;
  // Not meaningful for Unix sockets; kept so the TCP code paths compile.
  bool reuse_address = false;
  bool no_delay = false;
};

namespace detail {

/// A path that starts with a NUL byte names Linux's abstract namespace: no
/// file is involved.
inline bool is_abstract_path(const std::string& path) { return !path.empty() && path[0] == '\0'; }

/// Binds and listens on the Unix socket at `path` (see start_unix_server).
template <class State>
void listen_unix(State& state, const std::string& path, const unix_server_options& options) {
  using protocol = asio::local::stream_protocol;
  const bool file = !is_abstract_path(path);
  struct stat before {};
  if (file && ::stat(path.c_str(), &before) == 0 && S_ISSOCK(before.st_mode)) ::unlink(path.c_str());
  listen_on(state, protocol::endpoint(path), options);

  struct stat created {};
  if (file && options.cleanup_socket && ::stat(path.c_str(), &created) == 0) {
    state.set_close_action([path, dev = created.st_dev, ino = created.st_ino] {
      // Remove only our own file: another server may have replaced it since.
      struct stat now {};
      if (::stat(path.c_str(), &now) == 0 && now.st_dev == dev && now.st_ino == ino) ::unlink(path.c_str());
    });
  }
}

}  // namespace detail

/// Connects to the Unix socket at `path` ("\0name" for Linux's abstract
/// namespace) and returns the connection's reader and writer.
///
/// Throws std::system_error (e.g. no_such_file_or_directory,
/// connection_refused); operation_aborted when cancelled.
[[nodiscard]] inline asio::awaitable<unix_connection> open_unix_connection(std::string path,
                                                                           unix_connection_options options = {}) {
  asio::local::stream_protocol::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(asio::local::stream_protocol::endpoint(path), asio::use_awaitable);
  co_return make_connection(std::move(socket), options.limit);
}

/// Starts a server on the Unix socket at `path` and returns it, listening;
/// the callback is as for start_server.
///
/// A stale socket file (one left by a server that is gone) is removed
/// before binding, as asyncio does; a path that exists and is not a socket
/// is left alone and binding fails with address_in_use. On close the socket
/// file is removed if it is still the one this server created
/// (cleanup_socket). Abstract-namespace paths ("\0name") involve no file.
///
/// Throws std::system_error when binding fails.
template <class Callback>
[[nodiscard]] asio::awaitable<unix_server> start_unix_server(Callback callback, std::string path,
                                                             unix_server_options options = {}) {
  using protocol = asio::local::stream_protocol;
  auto executor = co_await asio::this_coro::executor;
  auto state = detail::make_server_state<protocol>(executor, std::move(callback), options);
  detail::listen_unix(*state, path, options);

  unix_server result(state);
  if (options.start_serving) result.start_serving();
  co_return result;
}

}  // namespace costream

#endif
