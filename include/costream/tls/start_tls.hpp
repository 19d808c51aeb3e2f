// costream/tls/start_tls.hpp: upgrading a plain connection to TLS in place (STARTTLS).
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TLS_START_TLS_HPP
#define COSTREAM_TLS_START_TLS_HPP

#include <costream/tls/handshake.hpp>
#include <costream/tls/options.hpp>
#include <costream/tls/stream.hpp>
#include <costream/error.hpp>
#include <costream/stream_protocol.hpp>

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>

namespace costream {

namespace detail {

template <class Socket>
net::awaitable<basic_connection<net::ssl::stream<Socket>>> upgrade_to_tls(basic_stream_reader<Socket> reader,
                                                                             basic_stream_writer<Socket> writer,
                                                                             shared_tls_options tls, tls_role role) {
  auto& protocol = writer.protocol();
  if (reader.protocol() != &protocol)
    throw std::invalid_argument("costream: start_tls: the reader and the writer are of different connections");
  if (protocol.is_closing()) throw system_error(make_error_code(errc::writer_closed), "costream: start_tls");
  if (protocol.reader_core()->waiting())
    throw system_error(make_error_code(errc::concurrent_read), "costream: start_tls");
  // Reading stops first: bytes the peer sends once it has seen the last
  // plain-text reply (its handshake) must reach TLS, not the plain reader.
  co_await protocol_access::stop_reading(reader.protocol()->shared_from_this());
  // Everything written before the upgrade goes out, in plain text, first.
  protocol.set_write_buffer_limits(0, 0);
  co_await writer.drain();
  if (protocol.reader_core()->waiting())
    throw system_error(make_error_code(errc::concurrent_read), "costream: start_tls");

  std::string buffered(reader.buffered());
  std::string peer_address;
  if constexpr (std::is_same_v<Socket, net::ip::tcp::socket>) {
    error_code ec;
    auto endpoint = protocol.stream().remote_endpoint(ec);
    if (!ec) peer_address = endpoint.address().to_string();
  }
  if (role == tls_role::server) prepare_server_context(*tls);
  const std::size_t limit = reader.limit();
  Socket socket = protocol_access::release_stream(protocol);
  auto upgraded = co_await tls_protocol(std::move(socket), role, *tls, peer_address, limit, buffered);
  co_return connection_of(upgraded);
}

}  // namespace detail

/// Upgrades a plain connection to TLS in place (STARTTLS; asyncio's
/// StreamWriter.start_tls): everything written so far is sent in plain text
/// first, then the handshake runs in `role` over the same socket, and the
/// returned connection reads and writes through TLS. `reader` and `writer`
/// must be the connection's; they are consumed (the old handles, and copies
/// of them, see a closed connection).
///
/// Bytes already buffered in the reader (received in plain text before the
/// upgrade, and not yet read) are kept: the new reader returns them first,
/// before any decrypted byte. Reading stops before the last plain-text
/// reply is flushed, so a peer that waits for the go-ahead before its
/// handshake (as RFC 3207 and 2595 require of STARTTLS clients) leaves
/// none, and its handshake reaches TLS whole. The connection reads
/// continuously, as asyncio's does: bytes a peer pipelined right behind
/// its plain-text command, before the go-ahead, were read as plain text;
/// they are not replayed into TLS, so that handshake fails (or times out),
/// as it would with asyncio. Beware that such bytes were not protected by
/// TLS (the STARTTLS injection of CVE-2011-0411): a server that must not
/// act on them checks reader.buffered().empty() before upgrading.
///
/// The client's name to verify and send as SNI is tls.server_hostname, else
/// the peer's IP address. The new connection has the reader's limit and
/// the default write-buffer limits.
///
/// @tparam Socket the plain connection's socket type (TCP or Unix).
/// @param reader the connection's reader, consumed.
/// @param writer the connection's writer, consumed.
/// @param tls the context, server_hostname, verify_peer, timeouts and ALPN
/// protocols.
/// @param role which side of the handshake this end plays.
/// @return an awaitable of the TLS connection's reader and writer, the
/// handshake done.
/// @throws costream::system_error errc::concurrent_read if a read is waiting on
/// the reader, errc::writer_closed after close(), what drain() throws if the
/// connection is lost while flushing, and what the TLS open_connection's
/// handshake throws.
/// @throws certificate_verify_error as the TLS open_connection's handshake;
/// as a server, when the context's verify mode asks for the client's
/// certificate and verification refuses it.
/// @throws std::invalid_argument when `reader` and `writer` are of
/// different connections; as the TLS open_connection's handshake.
template <class Socket>
[[nodiscard]] net::awaitable<basic_connection<net::ssl::stream<Socket>>> start_tls(
    basic_stream_reader<Socket> reader, basic_stream_writer<Socket> writer, tls_options tls,
    tls_role role = tls_role::client) {
  return detail::upgrade_to_tls(std::move(reader), std::move(writer),
                                std::make_shared<const tls_options>(std::move(tls)), role);
}

}  // namespace costream

#endif
