// costream/connection.hpp: a connection's reader and writer, as open_connection returns them.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_CONNECTION_HPP
#define COSTREAM_CONNECTION_HPP

#include <costream/net.hpp>
#include <costream/stream_protocol.hpp>
#include <costream/stream_reader.hpp>
#include <costream/stream_writer.hpp>

#include <cstddef>
#include <utility>

namespace costream {

/// A reader and a writer on one stream; an aggregate, so
/// `auto [reader, writer] = co_await open_connection(...)` works.
///
/// @tparam Stream the connection's stream type.
template <class Stream>
struct basic_connection {
  /// The connection's reader.
  basic_stream_reader<Stream> reader;
  /// The connection's writer.
  basic_stream_writer<Stream> writer;
};

/// A TCP connection's reader and writer, as open_connection returns them.
using connection = basic_connection<net::ip::tcp::socket>;

/// Wraps any connected Asio stream (a socket, one end of
/// costream::net::local::connect_pair, an ssl::stream after its handshake) in a
/// protocol and returns its reader and writer. The stream's executor is the
/// connection's: make it a strand if several threads run its io_context.
///
/// @tparam Stream the stream type, modelling AsyncReadStream and
/// AsyncWriteStream.
/// @param stream the connected stream, moved in.
/// @param limit the reader's limit (see basic_stream_reader::limit).
/// @return the connection's reader and writer, reading already.
/// @throws std::invalid_argument if limit is 0.
template <class Stream>
basic_connection<Stream> make_connection(Stream stream, std::size_t limit = COSTREAM_DEFAULT_LIMIT) {
  auto protocol = basic_stream_protocol<Stream>::create(std::move(stream), limit);
  return {basic_stream_reader<Stream>(protocol), basic_stream_writer<Stream>(protocol)};
}

}  // namespace costream

#endif
