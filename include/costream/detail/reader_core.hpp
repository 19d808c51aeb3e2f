// costream/detail/reader_core.hpp: the state of a stream reader and the one place a read waits for data.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_READER_CORE_HPP
#define COSTREAM_DETAIL_READER_CORE_HPP

#include <costream/compat.hpp>
#include <costream/detail/byte_buffer.hpp>
#include <costream/detail/event.hpp>
#include <costream/error.hpp>

#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/this_coro.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace costream::detail {

/// What feeds a reader that is attached to a connection: the protocol.
class reader_source {
 public:
  /// Makes progress for a waiting read: reads once from the transport into
  /// the reader (data, end of stream or the connection's error). Completes
  /// with operation_aborted, and changes nothing, when the wait is cancelled.
  /// `wanted` is how many more bytes the read needs, as a size hint.
  virtual asio::awaitable<std::error_code> fill(std::size_t wanted) = 0;

  /// Ownership of the source (and so of the reader state it holds), taken
  /// by a read for as long as it waits.
  virtual std::shared_ptr<void> keep_alive() = 0;

 protected:
  ~reader_source() = default;
};

/// The reader's state, shared by the reader handles and (for a connected
/// reader) owned by the protocol. Touched only from the connection's executor.
class reader_core : public std::enable_shared_from_this<reader_core> {
 public:
  reader_core(const asio::any_io_executor& executor, std::size_t limit)
      : executor_(executor), limit_(limit) {
    if (limit == 0) throw std::invalid_argument("costream: the limit must be greater than zero");
  }

  reader_core(const reader_core&) = delete;
  reader_core& operator=(const reader_core&) = delete;

  const asio::any_io_executor& executor() const noexcept { return executor_; }
  std::size_t limit() const noexcept { return limit_; }
  byte_buffer& buffer() noexcept { return buffer_; }
  bool eof() const noexcept { return eof_; }
  bool at_eof() const noexcept { return eof_ && buffer_.empty(); }
  std::exception_ptr exception() const noexcept { return exception_; }
  bool has_exception() const noexcept { return exception_ != nullptr; }
  void attach(reader_source* source) noexcept { source_ = source; }
  /// A read is waiting for data (inside wait_for_data).
  bool waiting() const noexcept { return waiting_; }

  /// The stored exception as an error code, for the no-throw forms.
  std::error_code exception_code() const noexcept { return exception_code_; }

  void feed_data(std::string_view bytes) {
    if (eof_) throw std::system_error(make_error_code(errc::feed_after_eof));
    if (bytes.empty()) return;
    buffer_.append(bytes);
    wake_waiter();
  }

  /// Bytes a source read straight into buffer().prepare(): no copy.
  void commit_data(std::size_t n) noexcept { buffer_.commit(n); }

  void feed_eof() {
    eof_ = true;
    wake_waiter();
  }

  void set_exception(std::exception_ptr e) {
    exception_ = e;
    exception_code_ = make_error_code(errc::stored_exception);
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::system_error& se) {
        exception_code_ = se.code();
      } catch (...) {
      }
    } else {
      exception_code_ = {};
    }
    wake_waiter();
  }

  void set_error(std::error_code ec) {
    set_exception(std::make_exception_ptr(std::system_error(ec)));
  }

  /// readline's memory of an over-long line it has not finished discarding
  /// (see readline): set while the rest of that line must still be dropped.
  bool discarding_line = false;
  std::size_t discarded = 0;

  /// Waits until the buffer, the end-of-stream flag or the exception may have
  /// changed. Returns errc::concurrent_read if another read already waits
  /// (reported, never corrupting the buffer), operation_aborted if the
  /// awaiting coroutine was cancelled. A cancelled wait leaves every byte in
  /// the buffer: bytes that arrived are committed before the wait reports,
  /// and the caller consumes nothing after a cancellation was requested.
  ///
  /// A read holds only a pointer to this state while the buffer answers it
  /// (no reference count is touched per read); from its first wait on,
  /// `keep` (in the read's frame) owns the state, so the read can finish
  /// even if every handle went away meanwhile.
  static asio::awaitable<std::error_code> wait_for_data(reader_core* self, std::shared_ptr<void>& keep,
                                                       std::size_t wanted) {
    if (self->waiting_) co_return make_error_code(errc::concurrent_read);
    if (!keep) keep = self->keep_alive();
    self->waiting_ = true;
    const waiting_guard reset{self};

    std::error_code ec;
    try {
      if (self->source_ != nullptr) {
        ec = co_await self->source_->fill(wanted);
      } else {
        if (!self->event_) self->event_ = std::make_unique<event>(self->executor_);
        ec = co_await self->event_->wait();
      }
    } catch (const std::system_error& e) {
      // Asio refuses to start an operation in an already-cancelled coroutine.
      ec = e.code();
    }
    if (!ec) {
      // An operation that completed just as the coroutine was cancelled still
      // reports success; whoever cancelled has given up on this read, so it
      // must not consume anything now. The data stays for the next read.
      asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none) ec = asio::error::operation_aborted;
    }
    co_return ec;
  }

 private:
  std::shared_ptr<void> keep_alive() {
    if (source_ != nullptr) return source_->keep_alive();
    return shared_from_this();  // a reader fed by hand owns its state
  }

  void wake_waiter() {
    if (waiting_ && event_) event_->notify_all();
  }

  asio::any_io_executor executor_;
  std::size_t limit_;
  byte_buffer buffer_;
  bool eof_ = false;
  // Clears waiting_ when wait_for_data's frame ends, however it ends. A
  // class member, not a local struct: g++ 12 crashes mangling a local class
  // inside a coroutine when the header is precompiled.
  struct waiting_guard {
    reader_core* core;
    ~waiting_guard() { core->waiting_ = false; }
  };

  bool waiting_ = false;  // a read is inside wait_for_data
  std::exception_ptr exception_;
  std::error_code exception_code_;
  reader_source* source_ = nullptr;
  std::unique_ptr<event> event_;  // only for readers fed by hand, made on their first wait
};

}  // namespace costream::detail

#endif
