// costream/detail/accept_pause.hpp: how an accept loop rides out running short of descriptors or memory.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_ACCEPT_PAUSE_HPP
#define COSTREAM_DETAIL_ACCEPT_PAUSE_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/error.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <system_error>

namespace costream::detail {

// Accept errors that mean "out of a resource for now" (EMFILE, ENFILE,
// ENOBUFS, ENOMEM): accepting pauses and resumes, as asyncio's does, instead
// of stopping the server. Compared by errno: Asio's system errors do not
// compare equal to std::errc (see system_errno).
inline bool resource_exhausted(const error_code& ec) {
  const int e = system_errno(ec);
  return e == EMFILE || e == ENFILE || e == ENOBUFS || e == ENOMEM;
}

// How long accepting pauses while a resource is exhausted: from the first
// delay, doubling while accepts keep failing, up to the last (asyncio pauses
// one second every time; starting short serves again sooner when the
// shortage was brief). Reports of the condition are at most once a second.
inline constexpr std::chrono::milliseconds accept_pause_first{5};
inline constexpr std::chrono::milliseconds accept_pause_max{1000};
inline constexpr std::chrono::milliseconds exhaustion_report_interval{1000};

/// One accept loop's pauses. The client stays in the backlog and accepting
/// again at once would fail the same way: the loop waits (using no CPU),
/// then tries again.
class accept_pause {
 public:
  /// An accept succeeded: the next shortage starts from the first delay.
  void reset() noexcept { last_ = std::chrono::milliseconds{0}; }

  /// The pause after one more failed accept.
  std::chrono::milliseconds next() noexcept {
    last_ = last_.count() == 0 ? accept_pause_first : std::min(2 * last_, accept_pause_max);
    return last_;
  }

  /// Waits `pause`, or until cancel().
  net::awaitable<void> wait(const net::any_io_executor& executor, std::chrono::milliseconds pause) {
    if (!timer_) timer_.emplace(executor);
    timer_->expires_after(pause);
    auto [ec] = co_await timer_->async_wait(compat::use_tuple);
    (void)ec;
  }

  void cancel() {
    if (timer_) timer_->cancel();
  }

 private:
  std::chrono::milliseconds last_{0};
  std::optional<net::steady_timer> timer_;  // made at the first pause
};

/// Reports of an exhausted resource, at most one per
/// exhaustion_report_interval, each saying how many failed accepts went
/// unreported since the last.
class exhaustion_reports {
 public:
  /// What to report for a failed accept followed by `pause`; nothing while
  /// the last report is recent.
  std::optional<std::string> note(std::chrono::milliseconds pause) {
    const auto now = std::chrono::steady_clock::now();
    if (last_ && now - *last_ < exhaustion_report_interval) {
      ++unreported_;
      return std::nullopt;
    }
    last_ = now;
    std::string what = "costream: accept: accepting paused for " + std::to_string(pause.count()) + " ms";
    if (unreported_ != 0) what += " (" + std::to_string(unreported_) + " more failed accepts since the last report)";
    unreported_ = 0;
    return what;
  }

 private:
  std::optional<std::chrono::steady_clock::time_point> last_;
  std::size_t unreported_ = 0;
};

}  // namespace costream::detail

#endif
