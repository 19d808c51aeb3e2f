// costream/detail/exact_allocator.hpp: an allocator of exactly the size asked for, for operations that wait long.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_EXACT_ALLOCATOR_HPP
#define COSTREAM_DETAIL_EXACT_ALLOCATOR_HPP

#include <cstddef>
#include <new>

namespace costream::detail {

/// Allocates from the global heap, exactly the size asked for.
///
/// Asio allocates an operation's state from a per-thread cache of freed
/// blocks, and takes any cached block big enough, however much bigger. That
/// is right for operations that end soon; for one that may wait for hours
/// (an idle connection's read) it pins a block freed by something larger,
/// such as an accept holding its new socket: measured, 333 bytes for an
/// operation that needs far less. Bound to such an operation, this
/// allocator gives it a block of its own size. (std::allocator would not
/// do: Asio maps it to that same cache.)
template <class T>
struct exact_allocator {
  using value_type = T;

  exact_allocator() noexcept = default;
  template <class U>
  exact_allocator(const exact_allocator<U>&) noexcept {}  // NOLINT(google-explicit-constructor): rebinding

  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { ::operator delete(p, n * sizeof(T)); }

  template <class U>
  friend bool operator==(const exact_allocator&, const exact_allocator<U>&) noexcept {
    return true;
  }
};

}  // namespace costream::detail

#endif
