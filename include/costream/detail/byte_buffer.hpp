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

/// A few freed buffer blocks kept per thread. Buffers give their storage back
/// when they are empty (a connection waiting for data holds none); without this
/// cache a busy connection would return a block to malloc and ask for it
/// again on every read that finds the socket empty and on every flush, and
/// glibc would trim and regrow its heap each time. Bounded: at most `slots`
/// blocks of at most `max_block` bytes per thread.
class block_cache {
 public:
  static constexpr std::size_t slots = 8;
  static constexpr std::size_t min_block = 4 * 1024;
  static constexpr std::size_t max_block = 256 * 1024;

  // Trivially destructible, so buffers destroyed while the thread exits
  // (after the cache was emptied) can still call it: they free directly.
  static block_cache& local() noexcept {
    static thread_local block_cache cache;
    return cache;
  }

  /// A cached block of at least n bytes, or null; its size in `capacity`.
  char* take(std::size_t n, std::size_t& capacity) noexcept {
    for (std::size_t i = count_; i-- > 0;) {
      if (blocks_[i].capacity >= n) {
        char* data = blocks_[i].data;
        capacity = blocks_[i].capacity;
        blocks_[i] = blocks_[--count_];
        return data;
      }
    }
    return nullptr;
  }

  /// Keeps the block if there is room and it is of a size worth keeping;
  /// otherwise frees it.
  void give(char* data, std::size_t capacity) noexcept {
    if (closed_ || count_ == slots || capacity < min_block || capacity > max_block) {
      std::free(data);
      return;
    }
    if (!reaper_registered_) {
      static thread_local reaper frees_at_thread_exit;
      (void)frees_at_thread_exit;
      reaper_registered_ = true;
    }
    blocks_[count_++] = {data, capacity};
  }

 private:
  struct block {
    char* data;
    std::size_t capacity;
  };
  // Frees the cached blocks when the thread exits; from then on the cache
  // keeps nothing.
  struct reaper {
    reaper() noexcept {}
    reaper(const reaper&) = delete;
    reaper& operator=(const reaper&) = delete;
    ~reaper() {
      block_cache& cache = local();
      for (std::size_t i = 0; i < cache.count_; ++i) std::free(cache.blocks_[i].data);
      cache.count_ = 0;
      cache.closed_ = true;
    }
  };

  block blocks_[slots] = {};
  std::size_t count_ = 0;
  bool closed_ = false;
  bool reaper_registered_ = false;
};

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
  ~byte_buffer() {
    if (data_ != nullptr) block_cache::local().give(data_, capacity_);
  }

  void swap(byte_buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
    std::swap(consumed_total_, other.consumed_total_);
    std::swap(pinned_, other.pinned_);
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
    if (begin_ == end_ && !pinned_) begin_ = end_ = 0;
  }

  void clear() noexcept {
    consumed_total_ += size();
    begin_ = end_ = pinned_ ? end_ : 0;
  }

  /// While pinned, the end of the live bytes stays where it is: an
  /// asynchronous read is writing into the room after it (from prepare())
  /// and will commit() there. Consuming still works; it only stops moving an
  /// emptied buffer back to the front. Nothing may prepare() meanwhile.
  void pin() noexcept { pinned_ = true; }
  void unpin() noexcept { pinned_ = false; }
  bool pinned() const noexcept { return pinned_; }

  /// How many bytes were ever taken from the front. A read that remembers a
  /// position in the buffer across a wait shifts it by what others took.
  std::size_t consumed_total() const noexcept { return consumed_total_; }

  /// Gives the storage back (to the thread's block cache) if nothing is
  /// buffered.
  void release() noexcept {
    if (empty() && data_ != nullptr) {
      block_cache::local().give(data_, capacity_);
      data_ = nullptr;
      capacity_ = 0;
      clear();
    }
  }

  /// Returns at least n writable bytes after the live ones; commit() then
  /// makes the bytes actually written part of the buffer. Invalidates data().
  char* prepare(std::size_t n) {
    if (capacity_ - end_ >= n) return data_ + end_;
    return grow(n, true);
  }

  /// prepare() for a buffer that may stay as it is for long (a connection
  /// waiting for data): when storage must be found, it is exactly what is
  /// needed, never a larger block from the cache.
  char* prepare_exact(std::size_t n) {
    if (capacity_ - end_ >= n) return data_ + end_;
    return grow(n, false);
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

  // Finds room for n bytes after the live ones: by moving them to the front
  // if that is enough, else in new storage (a cached block if `use_cache`).
  char* grow(std::size_t n, bool use_cache) {
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
      std::size_t got = 0;
      char* fresh = use_cache ? block_cache::local().take(want, got) : nullptr;
      if (fresh == nullptr) {
        fresh = static_cast<char*>(std::malloc(want));
        if (fresh == nullptr) throw std::bad_alloc();
        got = want;
      }
      if (live != 0) std::memcpy(fresh, data_ + begin_, live);
      if (data_ != nullptr) block_cache::local().give(data_, capacity_);
      data_ = fresh;
      capacity_ = got;
    }
    begin_ = 0;
    end_ = live;
    return data_ + end_;
  }

  char* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::size_t consumed_total_ = 0;
  bool pinned_ = false;
};

/// Stands in for a byte_buffer that a type never uses (an empty one).
struct no_buffer {
  static constexpr std::size_t size() noexcept { return 0; }
  static constexpr bool empty() noexcept { return true; }
};

}  // namespace costream::detail

#endif
