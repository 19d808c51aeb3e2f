// costream/detail/byte_buffer.hpp: the growable byte buffer behind readers and writers.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_BYTE_BUFFER_HPP
#define COSTREAM_DETAIL_BYTE_BUFFER_HPP

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>
#include <utility>

namespace costream::detail {

/// A contiguous byte queue: bytes are appended at the end and consumed from
/// the front. Consuming only moves an index, and the live bytes are moved to
/// the front only when room is needed at the end, so a read never shifts the
/// whole buffer. Holds no memory while empty after release().
///
/// Invariant: begin_ <= end_ <= capacity_; the live bytes are [begin_, end_).
class byte_buffer {
 public:
  byte_buffer() = default;
  byte_buffer(const byte_buffer&) = delete;
  byte_buffer& operator=(const byte_buffer&) = delete;
  byte_buffer(byte_buffer&& other) noexcept { swap(other); }
  byte_buffer& operator=(byte_buffer&& other) noexcept {
    byte_buffer(std::move(other)).swap(*this);
    return *this;
  }
  ~byte_buffer() { std::free(data_); }

  void swap(byte_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
    std::swap(consumed_total_, other.consumed_total_);
  }

  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  std::size_t capacity() const noexcept { return capacity_; }
  const char* data() const noexcept { return data_ + begin_; }
  std::string_view view() const noexcept { return {data_ + begin_, size()}; }

  /// Drops the first n bytes (n <= size()).
  void consume(std::size_t n) noexcept {
    begin_ += n;
    consumed_total_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }

  void clear() noexcept {
    consumed_total_ += size();
    begin_ = end_ = 0;
  }

  /// How many bytes were ever taken from the front. A read that remembers a
  /// position in the buffer across a wait shifts it by what others took.
  std::size_t consumed_total() const noexcept { return consumed_total_; }

  /// Frees the storage if nothing is buffered.
  void release() noexcept {
    if (empty() && data_ != nullptr) {
      std::free(data_);
      data_ = nullptr;
      capacity_ = 0;
      clear();
    }
  }

  /// Returns at least n writable bytes after the live ones; commit() then
  /// makes the bytes actually written part of the buffer. Invalidates data().
  char* prepare(std::size_t n) {
    if (capacity_ - end_ >= n) return data_ + end_;
    const std::size_t live = size();
    if (capacity_ - live >= n) {
      // Enough room once compacted: move the live bytes to the front. This
      // happens only when the end of the storage is reached, so each byte is
      // moved at most once per pass through the storage.
      std::memmove(data_, data_ + begin_, live);
    } else {
      std::size_t want = capacity_ * 2;
      if (want < live + n) want = live + n;
      if (want < min_capacity) want = min_capacity;
      char* fresh = static_cast<char*>(std::malloc(want));
      if (fresh == nullptr) throw std::bad_alloc();
      if (live != 0) std::memcpy(fresh, data_ + begin_, live);
      std::free(data_);
      data_ = fresh;
      capacity_ = want;
    }
    begin_ = 0;
    end_ = live;
    return data_ + end_;
  }

  /// Room already available after the live bytes, without moving anything.
  std::size_t writable() const noexcept { return capacity_ - end_; }

  void commit(std::size_t n) noexcept { end_ += n; }

  void append(std::string_view bytes) {
    if (bytes.empty()) return;
    std::memcpy(prepare(bytes.size()), bytes.data(), bytes.size());
    commit(bytes.size());
  }

 private:
  static constexpr std::size_t min_capacity = 256;

  char* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t consumed_total_ = 0;
};

}  // namespace costream::detail

#endif
