// costream/detail/separator_set.hpp: one or several separators, and the search for the earliest match.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_SEPARATOR_SET_HPP
#define COSTREAM_DETAIL_SEPARATOR_SET_HPP

#include <algorithm>
#include <utility>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace costream::detail {

/// Where a separator was found: [start, end) in the searched bytes.
struct separator_match {
  std::size_t start = std::string_view::npos;
  std::size_t end = std::string_view::npos;
  bool found() const noexcept { return start != std::string_view::npos; }
};

/// The separators of one readuntil call, owned (the call may outlive the
/// caller's arguments, since awaitables start lazily). Sorted by length, as
/// asyncio 3.13 does, so that among matches ending at the same byte the
/// shortest separator wins.
class separator_set {
 public:
  explicit separator_set(std::string separator) : first_(std::move(separator)) {}

  template <class Range>
  static separator_set from_range(const Range& separators) {
    separator_set set{std::string()};
    bool first = true;
    for (std::string_view s : separators) {
      if (first) {
        set.first_.assign(s);
        first = false;
      } else {
        set.rest_.emplace_back(s);
      }
    }
    set.empty_list_ = first;
    if (!set.rest_.empty()) {
      set.rest_.push_back(std::move(set.first_));
      // Shortest first, ties in the caller's order: a stable insertion sort
      // (lists are short, and std::stable_sort's temporary buffer is a
      // deprecated API that clang warns about through libstdc++ 12).
      for (std::size_t i = 1; i < set.rest_.size(); ++i) {
        for (std::size_t j = i; j > 0 && set.rest_[j].size() < set.rest_[j - 1].size(); --j) {
          std::swap(set.rest_[j], set.rest_[j - 1]);
        }
      }
      set.first_ = std::move(set.rest_.front());
      set.rest_.erase(set.rest_.begin());
    }
    return set;
  }

  /// An empty list or an empty separator is a usage error (asyncio: ValueError).
  bool valid() const noexcept { return !empty_list_ && !first_.empty(); }
  std::size_t min_size() const noexcept { return first_.size(); }
  std::size_t max_size() const noexcept { return rest_.empty() ? first_.size() : rest_.back().size(); }

  /// The earliest-ending match that starts at or after `offset`.
  separator_match find(std::string_view bytes, std::size_t offset) const noexcept {
    separator_match best = find_one(bytes, offset, first_);
    for (const std::string& s : rest_) {
      separator_match m = find_one(bytes, offset, s);
      if (m.found() && (!best.found() || m.end < best.end)) best = m;
    }
    return best;
  }

 private:
  static separator_match find_one(std::string_view bytes, std::size_t offset, std::string_view sep) noexcept {
    std::size_t at;
    if (sep.size() == 1) {
      // memchr is what makes the common single-byte case fast.
      const void* p = offset < bytes.size() ? std::memchr(bytes.data() + offset, sep[0], bytes.size() - offset) : nullptr;
      at = p != nullptr ? static_cast<std::size_t>(static_cast<const char*>(p) - bytes.data()) : std::string_view::npos;
    } else {
      at = bytes.find(sep, offset);
    }
    if (at == std::string_view::npos) return {};
    return {at, at + sep.size()};
  }

  std::string first_;              // the shortest separator
  std::vector<std::string> rest_;  // the others, by increasing length
  bool empty_list_ = false;
};

}  // namespace costream::detail

#endif
