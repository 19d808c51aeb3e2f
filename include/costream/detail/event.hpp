// costream/detail/event.hpp: a cancellable "something changed" signal for coroutines.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_EVENT_HPP
#define COSTREAM_DETAIL_EVENT_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>

#include <cstdint>
#include <system_error>

namespace costream::detail {

/// Coroutines wait() until notify_all(); each then re-checks the condition it
/// waits for. Built on a steady_timer that never expires, so Asio itself
/// provides what a hand-made waiter list would have to: per-operation
/// cancellation (cancellation slots, `||`, timeouts), outstanding-work
/// tracking, and destruction of pending waits when the io_context shuts down.
///
/// A timer cancellation completes the wait with operation_aborted both when
/// the event is notified and when the waiter itself is cancelled; the
/// generation counter tells the two apart.
///
/// Thread safety: use from the executor that owns the connection (a strand
/// when the io_context runs on several threads).
class event {
 public:
  explicit event(const net::any_io_executor& executor)
      : timer_(executor, net::steady_timer::time_point::max()) {}

  /// The executor given at construction.
  net::any_io_executor executor() noexcept { return timer_.get_executor(); }

  /// Wakes every current waiter.
  void notify_all() {
    ++generation_;
    timer_.cancel();
  }

  /// As wait(), for a handler: `handler` gets no error once notify_all()
  /// is called, or operation_aborted if this wait is cancelled first (through
  /// its cancellation slot). The event must outlive the wait.
  template <class Handler>
  void async_wait(Handler handler) {
    auto executor = net::get_associated_executor(handler, timer_.get_executor());
    auto slot = net::get_associated_cancellation_slot(handler);
    timer_.async_wait(net::bind_cancellation_slot(
        slot, net::bind_executor(executor, [this, generation = generation_, h = std::move(handler)](error_code) mutable {
          // The timer never expires: every completion is a cancellation.
          std::move(h)(generation != generation_ ? error_code{} : error_code(net::error::operation_aborted));
        })));
  }

  /// Completes with no error once notify_all() is called, or with
  /// operation_aborted if this wait is cancelled first.
  net::awaitable<error_code> wait() {
    const std::uint64_t generation = generation_;
    try {
      auto [ec] = co_await timer_.async_wait(compat::use_tuple);
      (void)ec;  // the timer never expires: every completion is a cancellation
    } catch (...) {
      // Asio throws instead of starting the wait when the awaiting coroutine
      // was already cancelled.
      co_return current_system_error_or_rethrow();
    }
    if (generation != generation_) co_return error_code{};
    co_return error_code(net::error::operation_aborted);
  }

 private:
  net::steady_timer timer_;
  std::uint64_t generation_ = 0;
};

}  // namespace costream::detail

#endif
