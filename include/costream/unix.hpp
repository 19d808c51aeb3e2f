// costream/unix.hpp: open_unix_connection and start_unix_server over Unix domain sockets.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_UNIX_HPP
#define COSTREAM_UNIX_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/connection.hpp>
#include <costream/server.hpp>
#include <costream/server_options.hpp>
#include <costream/start_server.hpp>

#if !defined(COSTREAM_HAS_LOCAL_SOCKETS)
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

/// The reader of a Unix socket connection.
using unix_stream_reader = basic_stream_reader<net::local::stream_protocol::socket>;
/// The writer of a Unix socket connection.
using unix_stream_writer = basic_stream_writer<net::local::stream_protocol::socket>;
/// A Unix socket connection's reader and writer, as open_unix_connection returns them.
using unix_connection = basic_connection<net::local::stream_protocol::socket>;
/// A Unix socket server, as start_unix_server returns it.
using unix_server = basic_server<net::local::stream_protocol>;

/// Options of open_unix_connection.
struct unix_connection_options {
  /// The reader's limit (see basic_stream_reader::limit).
  std::size_t limit = COSTREAM_DEFAULT_LIMIT;
};

namespace detail {

/// A path that starts with a NUL byte names Linux's abstract namespace: no
/// file is involved.
inline bool is_abstract_path(const std::string& path) { return !path.empty() && path[0] == '\0'; }

/// Binds and listens on the Unix socket at `path` (see start_unix_server).
struct listen_unix_path {
  std::string path;

  template <class State>
  net::awaitable<void> operator()(State& state) const {
    const bool file = !is_abstract_path(path);
    struct stat before {};
    if (file && ::stat(path.c_str(), &before) == 0 && S_ISSOCK(before.st_mode)) ::unlink(path.c_str());
    state.listen(net::local::stream_protocol::endpoint(path));

    struct stat created {};
    if (file && state.options().cleanup_socket && ::stat(path.c_str(), &created) == 0) {
      state.set_close_action([path = path, dev = created.st_dev, ino = created.st_ino] {
        // Remove only our own file: another server may have replaced it since.
        struct stat now {};
        if (::stat(path.c_str(), &now) == 0 && now.st_dev == dev && now.st_ino == ino) ::unlink(path.c_str());
      });
    }
    co_return;
  }
};

}  // namespace detail

/// Connects to the Unix socket at `path` (`"\0name"` for Linux's abstract
/// namespace) and returns the connection's reader and writer.
///
/// @param path the socket's path, or a NUL byte and an abstract name.
/// @param options the reader's limit.
/// @return an awaitable of the connection, on the awaiting coroutine's
/// executor.
/// @throws costream::system_error (e.g. no_such_file_or_directory,
/// connection_refused); operation_aborted when cancelled.
[[nodiscard]] inline net::awaitable<unix_connection> open_unix_connection(std::string path,
                                                                           unix_connection_options options = {}) {
  net::local::stream_protocol::socket socket(co_await net::this_coro::executor);
  co_await socket.async_connect(net::local::stream_protocol::endpoint(path), net::use_awaitable);
  co_return make_connection(std::move(socket), options.limit);
}

/// Starts a server on the Unix socket at `path` and returns it, listening;
/// the callback is as for start_server.
///
/// A stale socket file (one left by a server that is gone) is removed
/// before binding, as asyncio does; a path that exists and is not a socket
/// is left alone and binding fails with address_in_use. On close the socket
/// file is removed if it is still the one this server created
/// (cleanup_socket). Abstract-namespace paths (`"\0name"`) involve no file.
///
/// @tparam Callback callable as `callback(unix_stream_reader,
/// unix_stream_writer)`, a coroutine or a plain function (see start_server).
/// @param callback run for each connection.
/// @param path the socket's path, or a NUL byte and an abstract name.
/// @param options the readers' limit, listen() backlog, strand per
/// connection, whether to start serving at once, cleanup_socket.
/// @return an awaitable of the server, listening (and serving, unless
/// options.start_serving is false).
/// @throws costream::system_error when binding fails.
template <class Callback>
[[nodiscard]] net::awaitable<unix_server> start_unix_server(Callback callback, std::string path,
                                                             unix_server_options options = {}) {
  return detail::serve<net::local::stream_protocol>(std::move(callback), std::move(options),
                                                     detail::listen_unix_path{std::move(path)});
}

/// Starts a server on a listening Unix socket made elsewhere (asyncio's
/// sock=; see listening_socket), such as one systemd's socket activation
/// passed. Closing the server closes the socket; its file stays (systemd,
/// or whoever made it, owns it; asyncio 3.13 removes it under
/// cleanup_socket).
///
/// @tparam Callback as for start_unix_server(callback, path, options).
/// @param callback run for each connection.
/// @param socket the descriptor to serve from; the server owns it once
/// started.
/// @param options as above; backlog applies only to a socket that does not
/// listen yet, and cleanup_socket not at all.
/// @return an awaitable of the server, listening on the socket.
/// @throws std::invalid_argument when the descriptor is not a Unix stream
/// socket.
/// @throws costream::system_error when Asio cannot use it or it cannot listen;
/// the descriptor then stays open.
template <class Callback>
[[nodiscard]] net::awaitable<unix_server> start_unix_server(Callback callback, listening_socket socket,
                                                             unix_server_options options = {}) {
  return detail::serve<net::local::stream_protocol>(std::move(callback), std::move(options),
                                                     detail::listen_adopted{socket});
}

}  // namespace costream

#endif
