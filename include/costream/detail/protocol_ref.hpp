// costream/detail/protocol_ref.hpp: a reader's or writer's counted reference to its connection.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_PROTOCOL_REF_HPP
#define COSTREAM_DETAIL_PROTOCOL_REF_HPP

#include <costream/stream_protocol.hpp>

#include <memory>
#include <utility>

namespace costream::detail {

/// A shared_ptr to a protocol that also counts the user-visible handles
/// (readers and writers). Pending operations keep the protocol alive with
/// plain shared_ptrs; when the last handle goes, the protocol is told
/// (handles_released), so that an abandoned connection is closed instead of
/// living on as long as its pending read.
template <class Protocol>
class protocol_ref {
 public:
  protocol_ref() = default;
  explicit protocol_ref(std::shared_ptr<Protocol> p) noexcept : p_(std::move(p)) { acquire(); }
  protocol_ref(const protocol_ref& other) noexcept : p_(other.p_) { acquire(); }
  protocol_ref(protocol_ref&& other) noexcept : p_(std::move(other.p_)) {}
  protocol_ref& operator=(protocol_ref other) noexcept {
    std::swap(p_, other.p_);
    return *this;
  }
  ~protocol_ref() {
    if (p_) protocol_access::release_handle(*p_);
  }

  Protocol* get() const noexcept { return p_.get(); }
  Protocol* operator->() const noexcept { return p_.get(); }
  Protocol& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }
  const std::shared_ptr<Protocol>& shared() const noexcept { return p_; }

 private:
  void acquire() noexcept {
    if (p_) protocol_access::acquire_handle(*p_);
  }

  std::shared_ptr<Protocol> p_;
};

}  // namespace costream::detail

#endif
