// costream/detail/connection_state.hpp: whether a connection is still there, and who waits for that to change.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_CONNECTION_STATE_HPP
#define COSTREAM_DETAIL_CONNECTION_STATE_HPP

#include <costream/net.hpp>
#include <costream/detail/event.hpp>

#include <atomic>
#include <memory>
#include <utility>

namespace costream::detail {

/// The part of a protocol that every other part consults: lost or not (and
/// the error it was lost with), the waiters woken on every change (drain,
/// wait_closed, start_tls's stop), the count of reader and writer handles,
/// and what a server keeps until the connection is lost.
///
/// Thread safety: the executor's, as the protocol's; the handle count alone
/// may change on any thread (handles are destroyed wherever their owners are).
class connection_state {
 public:
  bool lost() const noexcept { return lost_; }
  /// Why the connection was lost; empty for a local close or a clean end.
  const error_code& lost_error() const noexcept { return lost_error_; }

  /// Marks the connection lost with `error` (empty: a clean end) and lets go
  /// of the token held until then; false if it was lost already.
  bool mark_lost(error_code error) noexcept {
    if (lost_) return false;
    lost_ = true;
    lost_error_ = error;
    lost_token_.reset();
    return true;
  }

  /// Keeps `token` until mark_lost (or destruction); dropped at once when
  /// the connection is lost already.
  void hold_until_lost(std::shared_ptr<void> token) noexcept {
    if (!lost_) lost_token_ = std::move(token);
  }

  /// The waiters' event, made on first wait: most connections never wait on
  /// it, and an idle connection should cost little.
  event& changed(const net::any_io_executor& executor) {
    if (!changed_) changed_ = std::make_unique<event>(executor);
    return *changed_;
  }

  /// Wakes every waiter; each re-checks what it waits for.
  void notify_changed() {
    if (changed_) changed_->notify_all();
  }

  void acquire_handle() noexcept { handles_.fetch_add(1, std::memory_order_relaxed); }
  /// True when the last handle went away.
  bool release_handle() noexcept { return handles_.fetch_sub(1, std::memory_order_acq_rel) == 1; }

 private:
  std::atomic<int> handles_{0};
  bool lost_ = false;  // beside handles_: one word for both
  error_code lost_error_;
  std::unique_ptr<event> changed_;
  std::shared_ptr<void> lost_token_;
};

}  // namespace costream::detail

#endif
