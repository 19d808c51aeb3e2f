// costream/detail/write_queue.hpp: a connection's outgoing bytes and asyncio's write flow control.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_WRITE_QUEUE_HPP
#define COSTREAM_DETAIL_WRITE_QUEUE_HPP

#include <costream/detail/byte_buffer.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <type_traits>
#include <utility>

namespace costream {

/// The defaults of asyncio's transports: pause writing above 64 KiB
/// buffered, resume at 16 KiB.
inline constexpr std::size_t default_write_high_water = 64 * 1024;
inline constexpr std::size_t default_write_low_water = default_write_high_water / 4;

}  // namespace costream

namespace costream::detail {

/// The bytes written and not yet taken by the transport, and the water
/// marks: writing pauses once more than `high` bytes wait and resumes when
/// they fall to `low` (asyncio's pause_writing / resume_writing; drain()
/// waits in between). Only bookkeeping: the transport does the sending.
///
/// `Staged`: the transport hands bytes to an operation that must not see
/// them move (async_write); they wait in in_flight() until it completes.
template <bool Staged>
class write_queue {
 public:
  /// Bytes not yet handed to the transport.
  byte_buffer& pending() noexcept { return out_; }
  /// Bytes an operation is sending (Staged only).
  auto& in_flight() noexcept { return in_flight_; }

  /// Everything written and not yet sent.
  std::size_t size() const noexcept { return out_.size() + in_flight_.size(); }
  bool empty() const noexcept { return out_.empty() && in_flight_.empty(); }

  void append(std::string_view bytes) { out_.append(bytes); }
  void clear() noexcept { out_.clear(); }

  std::size_t high_water() const noexcept { return high_; }
  std::size_t low_water() const noexcept { return low_; }
  bool paused() const noexcept { return paused_; }

  /// asyncio's set_write_buffer_limits: high defaults to 64 KiB (or 4 x low
  /// when only low is given), low to high / 4. Throws std::invalid_argument
  /// if low > high.
  void set_limits(std::optional<std::size_t> high, std::optional<std::size_t> low) {
    const auto [h, l] = resolve_limits(high, low);
    if (l > h) throw std::invalid_argument("costream: high-water mark must be >= low-water mark");
    high_ = h;
    low_ = l;
  }

  /// The marks set_limits would set, {high, low}, defaults applied; valid
  /// only if low <= high.
  static std::pair<std::size_t, std::size_t> resolve_limits(std::optional<std::size_t> high,
                                                            std::optional<std::size_t> low) noexcept {
    const std::size_t h = high ? *high : (low ? 4 * *low : default_write_high_water);
    return {h, low ? *low : h / 4};
  }

  /// True once, when the buffer rises above the high-water mark: pause writing.
  bool crossed_high() noexcept {
    if (paused_ || size() <= high_) return false;
    paused_ = true;
    return true;
  }

  /// True once, when the buffer falls to the low-water mark: resume writing.
  bool crossed_low() noexcept {
    if (!paused_ || size() > low_) return false;
    paused_ = false;
    return true;
  }

  /// The connection is gone: nothing is paused any more.
  void unpause() noexcept { paused_ = false; }

 private:
  byte_buffer out_;
  [[no_unique_address]] std::conditional_t<Staged, byte_buffer, no_buffer> in_flight_;
  std::size_t high_ = default_write_high_water;
  std::size_t low_ = default_write_low_water;
  bool paused_ = false;
};

}  // namespace costream::detail

#endif
