// costream/start_server.hpp: start_server, asyncio's server entry point, and the one way every server starts.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_START_SERVER_HPP
#define COSTREAM_START_SERVER_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/open_connection.hpp>
#include <costream/server.hpp>
#include <costream/server_options.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace costream {

namespace detail {

/// Wraps a client callback, coroutine or plain function, as a coroutine.
template <class Reader, class Writer, class Callback>
std::function<net::awaitable<void>(Reader, Writer)> as_client_coroutine(Callback callback) {
  using result = std::invoke_result_t<Callback&, Reader, Writer>;
  if constexpr (std::is_same_v<result, net::awaitable<void>>) {
    return std::function<net::awaitable<void>(Reader, Writer)>(std::move(callback));
  } else {
    static_assert(std::is_void_v<result>,
                  "a client callback returns net::awaitable<void> (a coroutine) or void (a plain function)");
    return [callback = std::move(callback)](Reader reader, Writer writer) mutable -> net::awaitable<void> {
      callback(std::move(reader), std::move(writer));
      co_return;
    };
  }
}

/// How every server starts (TCP, Unix, TLS over either): its state, holding
/// the options and the upgrade (TLS's handshake; none for plain servers);
/// its listening sockets, made by `listen(state)`; then serving, unless
/// options.start_serving is false. `listen` is one of the listen_* types
/// below; it throws when a socket cannot be made.
template <class Protocol, class Stream = typename Protocol::socket, class Callback, class Listen>
net::awaitable<basic_server<Protocol, Stream>> serve(
    Callback callback, server_options_for<Protocol> options, Listen listen,
    typename server_state<Protocol, Stream>::upgrade_type upgrade = {}) {
  using state_type = server_state<Protocol, Stream>;
  const auto executor = co_await net::this_coro::executor;
  auto state = std::make_shared<state_type>(
      executor, as_client_coroutine<typename state_type::reader_type, typename state_type::writer_type>(std::move(callback)),
      std::move(options), std::move(upgrade));
  co_await listen(*state);
  basic_server<Protocol, Stream> result(state);
  if (state->options().start_serving) result.start_serving();
  co_return result;
}

/// Listens on every address of each host, all on one port (see start_server).
struct listen_hosts {
  std::vector<std::string> hosts;
  std::uint16_t port;

  template <class State>
  net::awaitable<void> operator()(State& state) const {
    for (const auto& host : hosts) {
      // Port 0: every address gets the port the first one was given.
      const std::uint16_t this_port = state.endpoints().empty() ? port : state.endpoints().front().port();
      co_await listen_host(state, host, this_port);
    }
    if (state.endpoints().empty()) throw system_error(error_code(net::error::host_not_found), "start_server");
  }

  template <class State>
  static net::awaitable<void> listen_host(State& state, const std::string& host, std::uint16_t port) {
    const auto family = state.options().family;
    std::vector<net::ip::tcp::endpoint> endpoints;
    if (host.empty()) {
      if (family != address_family::ipv6) endpoints.emplace_back(net::ip::address_v4::any(), port);
      if (family != address_family::ipv4) endpoints.emplace_back(net::ip::address_v6::any(), port);
    } else {
      net::ip::tcp::resolver resolver(co_await net::this_coro::executor);
      auto results = co_await resolver.async_resolve(host, std::to_string(port), net::ip::tcp::resolver::passive,
                                                     net::use_awaitable);
      for (const auto& entry : results)
        if (family_matches(family, entry.endpoint())) endpoints.push_back(entry.endpoint());
    }

    error_code first_error = net::error::host_not_found;
    for (auto endpoint : endpoints) {
      if (endpoint.port() == 0 && !state.endpoints().empty()) endpoint.port(state.endpoints().front().port());
      try {
        state.listen(endpoint);
      } catch (...) {
        // An empty host tolerates a family the machine lacks; an explicit one does not.
        auto code = current_system_error();
        if (!code || !host.empty() || endpoint.address().is_v4() || *code != net::error::address_family_not_supported)
          throw;
        first_error = *code;
      }
    }
    if (state.endpoints().empty()) throw system_error(first_error, "start_server");
  }
};

/// Serves from a socket made elsewhere (asyncio's sock=).
struct listen_adopted {
  listening_socket socket;

  template <class State>
  net::awaitable<void> operator()(State& state) const {
    state.adopt(socket);
    co_return;
  }
};

}  // namespace detail

/// Starts a TCP server on host:port and returns it, listening. For each
/// connection, `callback(stream_reader, stream_writer)` runs in its own
/// coroutine on the connection's strand; it may be a coroutine (returning
/// costream::net::awaitable<void>) or a plain function. When it returns and its
/// reader and writer copies are gone, the connection is closed (flushing
/// what was written). (A function that is not a coroutine but returns one
/// is called on the server's strand as the connection is accepted; an
/// exception it throws then is reported like one from the coroutine.) As
/// with co_spawn, the io_context does not run out of work while a callback
/// has not returned: the server keeps its executor's work while any of its
/// connections is open.
///
/// host "" listens on every interface, IPv4 and IPv6 (where the machine has
/// it); a name is resolved and every address is bound. Port 0 picks a free
/// port, the same for every address; server.sockets() shows it.
///
/// @tparam Callback callable as `callback(stream_reader, stream_writer)`,
/// returning net::awaitable<void> (a coroutine) or void (a plain function);
/// the server keeps it and calls it once per connection.
/// @param callback run for each connection.
/// @param host the name or address to listen on; "" for every interface.
/// @param port the port; 0 picks a free one.
/// @param options the readers' limit, listen() backlog, socket options,
/// strand per connection, whether to start serving at once.
/// @return an awaitable of the server, listening (and serving, unless
/// options.start_serving is false).
/// @throws costream::system_error when resolving or binding fails (e.g.
/// address_in_use).
template <class Callback>
[[nodiscard]] net::awaitable<server> start_server(Callback callback, std::string host, std::uint16_t port,
                                                   server_options options = {}) {
  return detail::serve<net::ip::tcp>(std::move(callback), std::move(options),
                                      detail::listen_hosts{{std::move(host)}, port});
}

/// Starts one server listening on every address of each host (asyncio's
/// sequence of hosts), all on one port: port 0 picks a free port for the
/// first address and reuses it for the others.
///
/// @tparam Callback as for start_server(callback, host, port, options).
/// @param callback run for each connection, as above.
/// @param hosts the names or addresses to listen on; "" for every interface.
/// @param port the port of every address; 0 picks a free one.
/// @param options as above.
/// @return an awaitable of the server, listening on every address.
/// @throws costream::system_error when resolving or binding any of them fails.
template <class Callback>
[[nodiscard]] net::awaitable<server> start_server(Callback callback, std::vector<std::string> hosts,
                                                   std::uint16_t port, server_options options = {}) {
  return detail::serve<net::ip::tcp>(std::move(callback), std::move(options),
                                      detail::listen_hosts{std::move(hosts), port});
}

/// Starts a TCP server on a listening socket made elsewhere (asyncio's
/// sock=; see listening_socket): systemd's socket activation, a socket
/// inherited from a parent, an Asio acceptor's descriptor. The callback is
/// as above; server.sockets() shows the socket's address; closing the
/// server closes the socket.
///
/// @code
/// auto server = co_await costream::start_server(on_client, costream::listening_socket(3));
/// @endcode
///
/// @tparam Callback as for start_server(callback, host, port, options).
/// @param callback run for each connection, as above.
/// @param socket the descriptor to serve from; the server owns it once
/// started.
/// @param options as above; reuse_address, reuse_port and family do not
/// apply, and backlog only to a socket that does not listen yet.
/// @return an awaitable of the server, listening on the socket.
/// @throws std::invalid_argument when the descriptor is not a TCP stream
/// socket.
/// @throws costream::system_error when Asio cannot use it (bad_descriptor) or it
/// cannot listen; the descriptor then stays open.
template <class Callback>
[[nodiscard]] net::awaitable<server> start_server(Callback callback, listening_socket socket,
                                                   server_options options = {}) {
  return detail::serve<net::ip::tcp>(std::move(callback), std::move(options), detail::listen_adopted{socket});
}

}  // namespace costream

#endif
