// costream/server_options.hpp: what a server is started with: its options, an adopted listening socket, its error handler.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_SERVER_OPTIONS_HPP
#define COSTREAM_SERVER_OPTIONS_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/open_connection.hpp>

#include <cstddef>
#include <exception>
#include <functional>
#include <system_error>
#include <type_traits>

namespace costream {

/// Options of start_server (TCP, and TLS over TCP).
struct server_options {
  /// Each reader's limit (see basic_stream_reader::limit).
  std::size_t limit = COSTREAM_DEFAULT_LIMIT;
  /// listen() backlog, as asyncio's default. An adopted socket that already
  /// listens keeps its own.
  int backlog = 100;
  /// SO_REUSEADDR (asyncio's default on POSIX): restart on a port in TIME_WAIT.
  bool reuse_address = true;
  /// SO_REUSEPORT (Linux): several servers, in one process or several, may
  /// listen on the same port, and the kernel spreads connections over them;
  /// the way to scale one server over cores (one io_context per thread).
  bool reuse_port = false;
  /// Restrict an empty or resolved host to one family.
  address_family family = address_family::any;
  /// Set TCP_NODELAY on accepted sockets (asyncio does by default).
  bool no_delay = true;
  /// Set SO_KEEPALIVE on accepted sockets (asyncio 3.13's keep_alive; off by
  /// default, as there): the kernel probes a connection that has been idle
  /// for a while (Linux: 2 hours by default, net.ipv4.tcp_keepalive_time)
  /// and reports a peer that is gone as a read error (timed_out).
  bool keep_alive = false;
  /// Give each connection its own strand, so the io_context may be run by
  /// several threads. On an io_context run by one thread, false saves the
  /// strand's small cost per operation.
  bool strand_per_connection = true;
  /// At most this many connections at once; 0 (the default, as asyncio):
  /// no cap. At the cap the server stops accepting: clients that connect
  /// meanwhile wait in the listen backlog (none is accepted and dropped),
  /// and accepting resumes as soon as a connection is gone (lost, and its
  /// callback returned). A connection counts from accept, so TLS
  /// handshakes in progress count too.
  std::size_t max_connections = 0;
  /// Start accepting at once (asyncio's start_serving=True).
  bool start_serving = true;
};

/// Options of start_unix_server.
struct unix_server_options {
  /// Each reader's limit.
  std::size_t limit = COSTREAM_DEFAULT_LIMIT;
  /// listen() backlog. An adopted socket that already listens keeps its own.
  int backlog = 100;
  /// Give each connection its own strand (see server_options).
  bool strand_per_connection = true;
  /// At most this many connections at once (see server_options).
  std::size_t max_connections = 0;
  /// Start accepting at once.
  bool start_serving = true;
  /// Remove the socket file when the server closes, if it is still the one
  /// this server created (asyncio 3.13's cleanup_socket). The file of an
  /// adopted socket (listening_socket) is never removed.
  bool cleanup_socket = true;
};

/// A socket made outside costream, bound and usually listening already, for
/// a server to serve from instead of binding its own (asyncio's sock=):
/// systemd's socket activation (descriptors from 3 on, see sd_listen_fds(3)),
/// a socket inherited from a parent process, or an Asio acceptor's
/// (listening_socket(acceptor.release())).
///
/// @code
/// // systemd passed one listening socket: descriptor 3 (SD_LISTEN_FDS_START)
/// auto server = co_await costream::start_server(on_client, costream::listening_socket(3));
/// @endcode
///
/// It only names the descriptor. The server that starts on it owns it from
/// then on and closes it when it closes; if starting fails (the descriptor
/// is not a stream socket of the server's kind: std::invalid_argument; a
/// descriptor that is not open: costream::system_error), it stays open and the
/// caller's. A socket that is bound but not listening is made to listen
/// with the options' backlog; one that listens already keeps its backlog
/// (asyncio calls listen() again with its own). The options that configure
/// listening sockets (reuse_address, reuse_port, family) do not apply; those
/// of accepted sockets (no_delay, keep_alive) do.
class listening_socket {
 public:
  /// A descriptor, as Asio's sockets hold it.
  using native_handle_type = net::ip::tcp::acceptor::native_handle_type;

  /// Names a descriptor; nothing is checked or taken until a server starts
  /// on it.
  ///
  /// @param handle the socket's descriptor.
  explicit listening_socket(native_handle_type handle) noexcept : handle_(handle) {}

  /// The descriptor named.
  ///
  /// @return the descriptor given to the constructor.
  native_handle_type native_handle() const noexcept { return handle_; }

 private:
  native_handle_type handle_;
};

/// Called with an exception that escaped a client callback (or an accept
/// error that pauses accepting). The default prints it to stderr.
using server_error_handler = std::function<void(std::exception_ptr)>;

namespace detail {

/// The options type of a server over Protocol.
template <class Protocol>
using server_options_for =
    std::conditional_t<std::is_same_v<Protocol, net::ip::tcp>, server_options, unix_server_options>;

// Every socket option a server sets is set by the functions below: adding
// one to the options above means adding a line here and nowhere else.

/// A TCP listening socket, opened and not yet bound to `endpoint`.
inline void configure_listener(net::ip::tcp::acceptor& acceptor, const net::ip::tcp::endpoint& endpoint,
                               const server_options& options) {
  if (options.reuse_address) acceptor.set_option(net::socket_base::reuse_address(true));
#if defined(SO_REUSEPORT)
  if (options.reuse_port) acceptor.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
#else
  if (options.reuse_port) throw system_error(error_code(net::error::operation_not_supported), "reuse_port");
#endif
  // One socket per family: the IPv6 one must not also claim IPv4.
  if (endpoint.address().is_v6()) acceptor.set_option(net::ip::v6_only(true));
}

/// A TCP socket just accepted, before anything is read or written.
inline void configure_accepted(net::ip::tcp::socket& socket, const server_options& options) {
  // An option the kernel refuses is no reason to drop the client.
  error_code ignored;
  if (options.no_delay) socket.set_option(net::ip::tcp::no_delay(true), ignored);
  if (options.keep_alive) socket.set_option(net::socket_base::keep_alive(true), ignored);
}

// Unix sockets: no socket options.
template <class Acceptor, class Endpoint>
void configure_listener(Acceptor&, const Endpoint&, const unix_server_options&) {}

template <class Socket>
void configure_accepted(Socket&, const unix_server_options&) {}

}  // namespace detail

}  // namespace costream

#endif
