// costream/detail/happy_eyeballs.hpp: staggered connection attempts (RFC 8305), as asyncio's happy_eyeballs_delay.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_HAPPY_EYEBALLS_HPP
#define COSTREAM_DETAIL_HAPPY_EYEBALLS_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/connect_error.hpp>
#include <costream/detail/event.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <system_error>
#include <vector>

namespace costream::detail {

/// Reorders addresses so that families alternate, starting with the first
/// address's family; `first_family_count` addresses of that family lead
/// (asyncio's interleave; RFC 8305 section 4). 0 keeps the order.
inline std::vector<net::ip::tcp::endpoint> interleave_families(std::vector<net::ip::tcp::endpoint> endpoints,
                                                                std::size_t first_family_count) {
  if (first_family_count == 0 || endpoints.empty()) return endpoints;
  const bool first_v6 = endpoints.front().address().is_v6();
  std::vector<net::ip::tcp::endpoint> first, other, result;
  for (auto& e : endpoints) (e.address().is_v6() == first_v6 ? first : other).push_back(e);
  std::size_t i = 0, j = 0;
  for (; i < first.size() && i < first_family_count; ++i) result.push_back(first[i]);
  while (i < first.size() || j < other.size()) {
    if (j < other.size()) result.push_back(other[j++]);
    if (i < first.size()) result.push_back(first[i++]);
  }
  return result;
}

// The shared state of one connect_staggered call. At namespace scope, not
// local to the coroutine: g++ 12 crashes mangling local classes in coroutines
// when the header is precompiled.
struct connect_race {
  explicit connect_race(const net::any_io_executor& ex) : changed(ex), timer(ex) {}
  event changed;  // an attempt ended or the delay passed
  net::steady_timer timer;
  std::vector<std::shared_ptr<net::ip::tcp::socket>> attempts;
  std::optional<net::ip::tcp::socket> winner;
  // One entry per attempt started, in that order; its code is set when the
  // attempt fails (an attempt cut short by operation_aborted keeps none).
  std::vector<connect_error::attempt> tried;
  std::size_t pending = 0;
  bool delay_passed = false;
};

/// Connects to the first endpoint that answers. An attempt starts, and the
/// next one starts after `delay` while the earlier ones are still pending
/// (or at once when every pending attempt has failed); the first to connect
/// wins and the others are cancelled and closed. `prepare` opens (and binds)
/// each socket.
///
/// Throws connect_error with every attempt when all of them failed (a
/// failed `prepare` counts as an attempt, as asyncio counts a failed bind);
/// costream::system_error host_not_found when there was no endpoint to try;
/// operation_aborted when cancelled (with_timeout turns that into timed_out).
template <class Prepare>
net::awaitable<net::ip::tcp::socket> connect_staggered(std::vector<net::ip::tcp::endpoint> endpoints,
                                                         std::chrono::steady_clock::duration delay,
                                                         Prepare prepare) {
  using net::ip::tcp;
  auto executor = co_await net::this_coro::executor;
  auto state = std::make_shared<connect_race>(executor);
  std::size_t next = 0;

  auto start_next = [&] {
    while (next < endpoints.size()) {
      const tcp::endpoint endpoint = endpoints[next++];
      const std::size_t index = state->tried.size();
      state->tried.push_back({endpoint, {}});
      auto socket = std::make_shared<tcp::socket>(executor);
      error_code ec = prepare(*socket, endpoint);
      if (ec) {
        state->tried[index].code = ec;
        continue;
      }
      ++state->pending;
      state->attempts.push_back(socket);
      socket->async_connect(endpoint, [state, socket, index](error_code ec2) {
        --state->pending;
        if (!ec2 && !state->winner) {
          state->winner.emplace(std::move(*socket));
        } else if (ec2 && ec2 != net::error::operation_aborted) {
          state->tried[index].code = ec2;
        }
        state->changed.notify_all();
      });
      state->delay_passed = false;
      if (delay != std::chrono::steady_clock::duration::max()) {
        state->timer.expires_after(delay);
        state->timer.async_wait([state](error_code ec2) {
          if (!ec2) {
            state->delay_passed = true;
            state->changed.notify_all();
          }
        });
      }
      return;
    }
  };

  auto cleanup = [&] {
    state->timer.cancel();
    for (auto& s : state->attempts) {
      error_code ignored;
      s->close(ignored);
    }
  };

  start_next();
  error_code wait_ec;
  while (!state->winner && (state->pending != 0 || next < endpoints.size())) {
    // Once the last attempt has started, a passed delay has nothing left to
    // start: wait for the pending attempts (looping here would never yield).
    if (state->pending == 0 || (state->delay_passed && next < endpoints.size())) {
      start_next();
      continue;
    }
    wait_ec = co_await state->changed.wait();
    if (wait_ec) break;
  }
  cleanup();
  if (wait_ec) throw system_error(wait_ec, "open_connection");
  if (!state->winner) {
    if (state->tried.empty()) throw system_error(error_code(net::error::host_not_found), "open_connection");
    // No attempt is pending, so every one has its code. Copied: the closed
    // sockets' handlers still hold the state.
    throw connect_error(state->tried);
  }
  co_return std::move(*state->winner);
}

}  // namespace costream::detail

#endif
