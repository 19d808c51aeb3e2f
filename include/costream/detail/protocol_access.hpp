// costream/detail/protocol_access.hpp: what the library's own parts do with a protocol that its users are not meant to.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_PROTOCOL_ACCESS_HPP
#define COSTREAM_DETAIL_PROTOCOL_ACCESS_HPP

#include <costream/net.hpp>
#include <costream/stream_protocol.hpp>

#include <memory>
#include <system_error>
#include <utility>

namespace costream {

namespace detail {

/// What the library's own parts (handles, servers, start_tls) do with a
/// protocol that its users are not meant to.
struct protocol_access {
  /// Counts the reader and writer handles (see detail::protocol_ref).
  template <class Stream>
  static void acquire_handle(basic_stream_protocol<Stream>& p) noexcept {
    p.state_.acquire_handle();
  }
  template <class Stream>
  static void release_handle(basic_stream_protocol<Stream>& p) {
    if (p.state_.release_handle()) {
      // Nobody can read or write any more: close, flushing what was written.
      net::post(p.get_executor(), [self = p.shared_from_this()] { self->close(); });
    }
  }

  /// Keeps `token` until the connection is lost (or the protocol destroyed,
  /// whichever comes first), then lets it go: how a server counts the
  /// connections still open. Dropped at once on a connection already lost.
  template <class Stream>
  static void hold_until_lost(basic_stream_protocol<Stream>& p, std::shared_ptr<void> token) {
    p.state_.hold_until_lost(std::move(token));
  }

  /// start_tls: stops reading, and waits until the pending read has ended
  /// (what it read is in the reader's buffer).
  template <class Stream>
  static net::awaitable<void> stop_reading(std::shared_ptr<basic_stream_protocol<Stream>> p) {
    p->transport_.stop_reading();
    while (p->transport_.reading() && !p->state_.lost()) {
      if (error_code ec = co_await p->state_.changed(p->get_executor()).wait()) throw system_error(ec, "costream: start_tls");
    }
  }

  /// start_tls: hands the stream over to whoever upgrades it, and ends this
  /// protocol as a local close does (its readers see end of stream, its
  /// writers a closed connection). The reader's buffered bytes stay in this
  /// reader; the caller takes them first. Requires stop_reading() and an
  /// empty write buffer.
  template <class Stream>
  static Stream release_stream(basic_stream_protocol<Stream>& p) {
    Stream stream = p.transport_.release();
    p.closing_ = true;
    p.connection_lost({});
    return stream;
  }
};

}  // namespace detail

}  // namespace costream

#endif
