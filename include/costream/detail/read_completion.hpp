// costream/detail/read_completion.hpp: the completion handler of a transport's continuous read, and its base.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_READ_COMPLETION_HPP
#define COSTREAM_DETAIL_READ_COMPLETION_HPP

#include <costream/net.hpp>
#include <costream/detail/exact_allocator.hpp>

#include <cstddef>
#include <memory>
#include <utility>

namespace costream::detail {

/// A handler of the connection's that owns the connection until it runs:
/// the transport's read completions and the protocol's posted flush.
///
/// Destroyed without having run, which happens only when the io_context is
/// destroyed with it pending, it drops the connection's waiting read: that
/// read's coroutine owns the connection, and the connection holds the
/// coroutine, so nothing else would ever free either.
template <class Owner>
class connection_handler {
 public:
  explicit connection_handler(std::shared_ptr<Owner> owner) noexcept : owner_(std::move(owner)) {}
  connection_handler(connection_handler&&) noexcept = default;
  connection_handler& operator=(connection_handler&&) = delete;
  connection_handler(const connection_handler&) = delete;
  connection_handler& operator=(const connection_handler&) = delete;
  ~connection_handler() {
    if (owner_) owner_->reader().drop_waiter();
  }

 protected:
  /// The connection, for the handler to run on; the destructor then does nothing.
  std::shared_ptr<Owner> take_owner() noexcept { return std::move(owner_); }

 private:
  std::shared_ptr<Owner> owner_;
};

/// Completes a transport's pending read (or a posted continuation of it)
/// on its owner, the connection, which it keeps alive meanwhile.
template <class Owner>
class read_completion : public connection_handler<Owner> {
 public:
  using connection_handler<Owner>::connection_handler;

  void operator()(const error_code& ec, std::size_t n) {
    std::shared_ptr<Owner> owner = this->take_owner();
    auto& transport = owner->transport();
    transport.on_read(std::move(owner), ec, n);
  }

  void operator()() {
    std::shared_ptr<Owner> owner = this->take_owner();
    auto& transport = owner->transport();
    transport.on_continue(std::move(owner));
  }
};

/// The completion of the read a transport queues to wait for data. That
/// read may wait as long as the connection idles, so its state gets a block
/// of its own size (exact_allocator), not whatever Asio's cache holds. The
/// allocator is a member, not bind_allocator's wrapper: a wrapper declares
/// an associated executor, and Asio's operation then keeps two executor
/// records (56 bytes each) where one does.
template <class Owner>
class queued_read_completion : public read_completion<Owner> {
 public:
  using allocator_type = exact_allocator<void>;
  using read_completion<Owner>::read_completion;
  allocator_type get_allocator() const noexcept { return {}; }
};

}  // namespace costream::detail

#endif
