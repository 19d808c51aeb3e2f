// costream/start_server.hpp: start_server, asyncio's server entry point.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_START_SERVER_HPP
#define COSTREAM_START_SERVER_HPP

#include <costream/compat.hpp>
#include <costream/open_connection.hpp>
#include <costream/server.hpp>

#include <asio/ip/tcp.hpp>
#include <asio/ip/v6_only.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace costream {

struct server_options {
  /// Each reader's limit (see basic_stream_reader::limit).
  std::size_t limit = COSTREAM_DEFAULT_LIMIT;
  /// listen() backlog, as asyncio's default.
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
  /// Give each connection its own strand, so the io_context may be run by
  /// several threads. On an io_context run by one thread, false saves the
  /// strand's small cost per operation.
  bool strand_per_connection = true;
  /// Start accepting at once (asyncio's start_serving=True).
  bool start_serving = true;
};

namespace detail {

/// Wraps a client callback, coroutine or plain function, as a coroutine.
template <class Reader, class Writer, class Callback>
std::function<asio::awaitable<void>(Reader, Writer)> as_client_coroutine(Callback callback) {
  using result = std::invoke_result_t<Callback&, Reader, Writer>;
  if constexpr (std::is_same_v<result, asio::awaitable<void>>) {
    return std::function<asio::awaitable<void>(Reader, Writer)>(std::move(callback));
  } else {
    static_assert(std::is_void_v<result>,
                  "a client callback returns asio::awaitable<void> (a coroutine) or void (a plain function)");
    return [callback = std::move(callback)](Reader reader, Writer writer) mutable -> asio::awaitable<void> {
      callback(std::move(reader), std::move(writer));
      co_return;
    };
  }
}

template <class Protocol, class Stream = typename Protocol::socket, class Callback, class Options>
std::shared_ptr<server_state<Protocol, Stream>> make_server_state(const asio::any_io_executor& executor,
                                                                  Callback callback, const Options& options) {
  using state_type = server_state<Protocol, Stream>;
  return std::make_shared<state_type>(
      executor,
      as_client_coroutine<typename state_type::reader_type, typename state_type::writer_type>(std::move(callback)),
      options.limit, options.strand_per_connection, options.no_delay);
}

template <class State, class Options>
void listen_on(State& state, const typename State::endpoint_type& endpoint, const Options& options) {
  using Protocol = typename State::endpoint_type::protocol_type;
  typename State::acceptor_type acceptor(state.strand());
  acceptor.open(endpoint.protocol());
  if (options.reuse_address) acceptor.set_option(asio::socket_base::reuse_address(true));
  if constexpr (requires { options.reuse_port; }) {
#if defined(SO_REUSEPORT)
    if (options.reuse_port) acceptor.set_option(asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
#else
    if (options.reuse_port) throw std::system_error(asio::error::operation_not_supported, "reuse_port");
#endif
  }
  if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
    // One socket per family: the IPv6 one must not also claim IPv4.
    if (endpoint.address().is_v6()) acceptor.set_option(asio::ip::v6_only(true));
  }
  acceptor.bind(endpoint);
  acceptor.listen(options.backlog);
  state.endpoints().push_back(acceptor.local_endpoint());
  state.acceptors().push_back(std::move(acceptor));
}

/// Binds and listens on every address of host:port (see start_server).
template <class State>
asio::awaitable<void> listen_tcp(std::shared_ptr<State> state, std::string host, std::uint16_t port,
                                 server_options options) {
  auto executor = co_await asio::this_coro::executor;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  if (host.empty()) {
    if (options.family != address_family::ipv6) endpoints.emplace_back(asio::ip::address_v4::any(), port);
    if (options.family != address_family::ipv4) endpoints.emplace_back(asio::ip::address_v6::any(), port);
  } else {
    asio::ip::tcp::resolver resolver(executor);
    auto results = co_await resolver.async_resolve(host, std::to_string(port), asio::ip::tcp::resolver::passive,
                                                   asio::use_awaitable);
    for (const auto& entry : results)
      if (family_matches(options.family, entry.endpoint())) endpoints.push_back(entry.endpoint());
  }

  std::error_code first_error = asio::error::host_not_found;
  for (auto endpoint : endpoints) {
    // Port 0: every address gets the port the first one was given.
    if (endpoint.port() == 0 && !state->endpoints().empty()) endpoint.port(state->endpoints().front().port());
    try {
      listen_on(*state, endpoint, options);
    } catch (const std::system_error& e) {
      // An empty host tolerates a family the machine lacks; an explicit one does not.
      if (!host.empty() || endpoint.address().is_v4() || e.code() != asio::error::address_family_not_supported)
        throw;
      first_error = e.code();
    }
  }
  if (state->acceptors().empty()) throw std::system_error(first_error, "start_server");
}

}  // namespace detail

/// Starts a TCP server on host:port and returns it, listening. For each
/// connection, `callback(stream_reader, stream_writer)` runs in its own
/// coroutine on the connection's strand; it may be a coroutine (returning
/// asio::awaitable<void>) or a plain function. When it returns and its
/// reader and writer copies are gone, the connection is closed (flushing
/// what was written). (A function that is not a coroutine but returns one
/// is called on the server's strand as the connection is accepted; an
/// exception it throws then is reported like one from the coroutine.)
///
/// host "" listens on every interface, IPv4 and IPv6 (where the machine has
/// it); a name is resolved and every address is bound. Port 0 picks a free
/// port, the same for every address; server.sockets() shows it.
///
/// Throws std::system_error when resolving or binding fails (e.g.
/// address_in_use).
template <class Callback>
[[nodiscard]] asio::awaitable<server> start_server(Callback callback, std::string host, std::uint16_t port,
                                                   server_options options = {}) {
  auto executor = co_await asio::this_coro::executor;
  auto state = detail::make_server_state<asio::ip::tcp>(executor, std::move(callback), options);
  co_await detail::listen_tcp(state, std::move(host), port, options);

  server result(state);
  if (options.start_serving) result.start_serving();
  co_return result;
}

/// Starts one server listening on every address of each host (asyncio's
/// sequence of hosts), all on one port: port 0 picks a free port for the
/// first address and reuses it for the others.
///
/// Throws std::system_error when resolving or binding any of them fails.
template <class Callback>
[[nodiscard]] asio::awaitable<server> start_server(Callback callback, std::vector<std::string> hosts,
                                                   std::uint16_t port, server_options options = {}) {
  auto executor = co_await asio::this_coro::executor;
  auto state = detail::make_server_state<asio::ip::tcp>(executor, std::move(callback), options);
  for (auto& host : hosts) {
    const std::uint16_t this_port = state->endpoints().empty() ? port : state->endpoints().front().port();
    co_await detail::listen_tcp(state, std::move(host), this_port, options);
  }
  if (state->acceptors().empty()) throw std::system_error(asio::error::host_not_found, "start_server");

  server result(state);
  if (options.start_serving) result.start_serving();
  co_return result;
}

}  // namespace costream

#endif
