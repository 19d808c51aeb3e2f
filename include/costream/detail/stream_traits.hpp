// costream/detail/stream_traits.hpp: what costream can ask of an Asio stream type.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_STREAM_TRAITS_HPP
#define COSTREAM_DETAIL_STREAM_TRAITS_HPP

#include <costream/net.hpp>

#include <concepts>
#include <cstddef>
#include <system_error>

namespace costream::detail {

/// A socket of Asio's own (TCP, Unix, any basic_stream_socket): costream
/// reads and writes it in non-blocking mode and waits for readiness, so no
/// buffer is held while a connection waits and a reply is sent without a
/// trip through the scheduler when the socket can take it.
template <class S>
concept native_socket = requires(S& s, error_code& ec, net::mutable_buffer in, net::const_buffer out) {
  typename S::wait_type;
  s.non_blocking(true, ec);
  { s.read_some(in, ec) } -> std::convertible_to<std::size_t>;
  { s.write_some(out, ec) } -> std::convertible_to<std::size_t>;
  s.shutdown(S::shutdown_send, ec);
  s.close(ec);
};

// A completion handler used only to ask whether a stream has async_shutdown.
struct shutdown_probe {
  void operator()(const error_code&) const noexcept {}
};

/// A layered stream that ends with a closing handshake of its own before
/// the socket is closed (ssl::stream's async_shutdown sends TLS's
/// close_notify): close() runs it, bounded by the protocol's shutdown timeout.
template <class S>
concept graceful_shutdown = requires(S& s) { s.async_shutdown(shutdown_probe{}); };

/// Anything modelling Asio's AsyncReadStream and AsyncWriteStream.
template <class S>
concept async_stream = requires(S& s) {
  s.get_executor();
};

/// Closes a stream (or the socket under it, for layered streams such as
/// ssl::stream); errors are ignored, as there is nobody left to tell.
template <class S>
void close_stream(S& s) noexcept {
  error_code ignored;
  if constexpr (requires { s.close(ignored); }) {
    s.close(ignored);
  } else if constexpr (requires { s.lowest_layer().close(ignored); }) {
    s.lowest_layer().close(ignored);
  }
}

/// The socket at the bottom of a (possibly layered) stream.
template <class S>
decltype(auto) lowest_layer(S& s) noexcept {
  if constexpr (requires { s.lowest_layer(); }) {
    return (s.lowest_layer());
  } else {
    return (s);
  }
}

inline bool would_block(const error_code& ec) noexcept {
  return ec == net::error::would_block || ec == net::error::try_again;
}

}  // namespace costream::detail

#endif
