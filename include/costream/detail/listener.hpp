// costream/detail/listener.hpp: a server's listening sockets: bound by costream, or adopted (asyncio's sock=).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_LISTENER_HPP
#define COSTREAM_DETAIL_LISTENER_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/server_options.hpp>

#include <stdexcept>
#include <system_error>

namespace costream::detail {

/// Opens an acceptor on `executor`, sets the options' socket options, binds
/// it to `endpoint` and listens. Throws costream::system_error (e.g.
/// address_in_use).
template <class Acceptor, class Options>
Acceptor open_listener(const net::any_io_executor& executor, const typename Acceptor::endpoint_type& endpoint,
                       const Options& options) {
  Acceptor acceptor(executor);
  acceptor.open(endpoint.protocol());
  configure_listener(acceptor, endpoint, options);
  acceptor.bind(endpoint);
  acceptor.listen(options.backlog);
  return acceptor;
}

/// Whether an address family is one a server over Protocol accepts on.
template <class Protocol>
bool family_fits(int family) {
  if constexpr (requires { Protocol::v4(); }) {
    return family == Protocol::v4().family() || family == Protocol::v6().family();
  } else {
    return family == Protocol().family();
  }
}

/// Adopts the socket `handle` names as a listening socket for a server over
/// Acceptor's protocol: it must be a stream socket of that protocol's
/// family; it is made to listen with `backlog` unless it listens already.
/// Throws std::invalid_argument for a socket of another kind, what Asio
/// throws for a descriptor it cannot use (bad_descriptor); either way the
/// descriptor is left open.
template <class Acceptor>
Acceptor adopt_listener(const net::any_io_executor& executor, typename Acceptor::native_handle_type handle,
                        int backlog) {
  using protocol_type = typename Acceptor::protocol_type;
  protocol_type protocol = [] {
    if constexpr (requires { protocol_type::v4(); }) {
      return protocol_type::v4();  // until the socket's address says which
    } else {
      return protocol_type();
    }
  }();
  Acceptor acceptor(executor);
  acceptor.assign(protocol, handle);
  try {
    const auto endpoint = acceptor.local_endpoint();
    if (!family_fits<protocol_type>(endpoint.data()->sa_family))
      throw std::invalid_argument("costream: start_server: the adopted socket is of another address family");
    if constexpr (requires { protocol_type::v4(); }) {
      // An IPv6 socket: Asio gives accepted sockets the acceptor's protocol.
      if (endpoint.protocol() != protocol) {
        acceptor.release();
        acceptor.assign(endpoint.protocol(), handle);
      }
    }
    net::detail::socket_option::integer<SOL_SOCKET, SO_TYPE> type;
    acceptor.get_option(type);
    if (type.value() != SOCK_STREAM)
      throw std::invalid_argument("costream: start_server: the adopted socket is not a stream socket");
    bool listening = false;
#if defined(SO_ACCEPTCONN)
    net::detail::socket_option::boolean<SOL_SOCKET, SO_ACCEPTCONN> accepting;
    acceptor.get_option(accepting);
    listening = accepting.value();
#endif
    if (!listening) acceptor.listen(backlog);
  } catch (...) {
    error_code ignored;
    if (acceptor.is_open()) acceptor.release(ignored);  // the descriptor stays the caller's
    throw;
  }
  return acceptor;
}

}  // namespace costream::detail

#endif
