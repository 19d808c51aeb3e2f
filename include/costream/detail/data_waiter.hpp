// costream/detail/data_waiter.hpp: the one read that waits for a connection's data, woken directly.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_DATA_WAITER_HPP
#define COSTREAM_DETAIL_DATA_WAITER_HPP

#include <costream/net.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <system_error>
#include <utility>

namespace costream::detail {

/// At most one waiting operation, completed by notify() straight from the
/// transport's completion: on the waiter's own executor the waiting
/// coroutine resumes at once, with no timer and no extra pass through the
/// scheduler (a data arrival is one completion, not two).
///
/// Cancellation through the awaiting coroutine's cancellation slot (a
/// timeout, `||`) completes the wait with operation_aborted, posted.
///
/// The waiting operation keeps its coroutine alive. Whoever owns a
/// data_waiter must call drop() if it can be destroyed with an operation
/// still waiting (the io_context shutting down): drop() destroys the
/// operation, and with it the waiting coroutine, without resuming it.
///
/// Thread safety: use from the connection's executor.
class data_waiter {
 public:
  data_waiter() = default;
  data_waiter(const data_waiter&) = delete;
  data_waiter& operator=(const data_waiter&) = delete;
  ~data_waiter() { drop(); }

  bool waiting() const noexcept { return pending_ != nullptr; }

  /// Starts the one waiting operation: `handler` is called with notify()'s
  /// error code (empty for data), or operation_aborted when the operation
  /// is cancelled through its cancellation slot, on its associated
  /// executor.
  template <class Handler>
  void start(Handler handler) {
    auto slot = net::get_associated_cancellation_slot(handler);
    // A second waiter is a caller's bug (reader_core reports concurrent_read
    // before it gets here); complete the old one rather than lose it.
    if (pending_ != nullptr) std::exchange(pending_, nullptr)->complete(net::error::operation_aborted, true);
    using operation = pending_handler<Handler>;
    static_assert(sizeof(operation) <= inline_size && alignof(operation) <= alignof(void*),
                  "costream: the waiting handler outgrew data_waiter::inline_size");
    pending_ = ::new (static_cast<void*>(storage_)) operation(std::move(handler));
    // The generation, not the operation's address, names the wait a
    // cancellation handler belongs to: a later wait may reuse the address.
    const std::uint64_t generation = ++generation_;
    if (slot.is_connected()) {
      slot.assign([this, generation](net::cancellation_type type) {
        if (type != net::cancellation_type::none && pending_ != nullptr && generation_ == generation)
          std::exchange(pending_, nullptr)->complete(net::error::operation_aborted, true);
      });
    }
  }

  /// Completes the waiting operation, if any, with `ec`: inline when called
  /// on the waiter's executor, else dispatched to it. Call it last: the
  /// waiting coroutine may run before it returns.
  void notify(error_code ec = {}) {
    if (pending_ != nullptr) std::exchange(pending_, nullptr)->complete(ec, false);
  }

  /// As notify(), but the waiting coroutine resumes later, never inside
  /// this call (for wake-ups that come from user code).
  void notify_later(error_code ec = {}) {
    if (pending_ != nullptr) std::exchange(pending_, nullptr)->complete(ec, true);
  }

  /// Destroys a waiting operation without completing it (see the class comment).
  void drop() noexcept {
    if (pending_ != nullptr) std::exchange(pending_, nullptr)->destroy();
  }

 private:
  // The waiting operation lives in storage_ (a resume_handler is the
  // coroutine's thread and a pointer to its result, on every supported
  // Asio): no allocation per wait, and nothing on the heap while a
  // connection idles in a read.
  static constexpr std::size_t inline_size = 3 * sizeof(void*);

  struct pending {
    virtual void complete(error_code ec, bool post) = 0;
    virtual void destroy() noexcept = 0;

   protected:
    ~pending() = default;
  };

  template <class Handler>
  struct pending_handler final : pending {
    explicit pending_handler(Handler h) : handler(std::move(h)) {}

    // The cancellation handler installed in start() stays in the slot: the
    // awaiting coroutine clears its slot when it resumes (and it may be the
    // one running now), and it only acts while its operation is pending_.
    void complete(error_code ec, bool post) override {
      Handler h = std::move(handler);
      // A coroutine's handler carries the coroutine's executor.
      auto executor = net::get_associated_executor(h);
      destroy();  // before resuming: the resumed read may wait again here
      auto resume = [h = std::move(h), ec]() mutable { std::move(h)(ec); };
      if (post) {
        net::post(executor, std::move(resume));
      } else {
        net::dispatch(executor, std::move(resume));
      }
    }

    void destroy() noexcept override { this->~pending_handler(); }

    // No work guard: the transport's pending read (or the continuation
    // that resumes it) is the connection's outstanding work while a read
    // waits, and an idle connection should cost little.
    Handler handler;
  };

  pending* pending_ = nullptr;
  std::uint64_t generation_ = 0;  // of the last wait started
  alignas(void*) unsigned char storage_[inline_size];
};

}  // namespace costream::detail

#endif
