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
  /// the reader (data, end of stream or the connection's error). `wanted` is
  /// how many more bytes the read needs, as a size hint.
  ///
  /// The contract of reader_core::wait_for_data, which hands its wait over
  /// to this coroutine without a frame of its own: hold a
  /// reader_core::wait_scope for the whole wait, and complete with
  /// operation_aborted, consuming nothing, when the awaiting coroutine is
  /// cancelled (see reader_core::cancelled).
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
  const byte_buffer& buffer() const noexcept { return buffer_; }
  bool eof() const noexcept { return eof_; }
  bool at_eof() const noexcept { return eof_ && buffer_.empty(); }
  std::exception_ptr exception() const noexcept { return exception_; }
  bool has_exception() const noexcept { return exception_ != nullptr; }
  void attach(reader_source* source) noexcept { source_ = source; }
  /// A read is waiting for data (see wait_scope).
  bool waiting() const noexcept { return waiting_; }

  /// The stored exception as an error code, for the no-throw forms.
  std::error_code exception_code() const noexcept { return exception_code_; }

  void feed_data(std::string_view bytes) {
    if (eof_) throw std::system_error(make_error_code(errc::feed_after_eof));
    // The transport is reading into the buffer: feeding now would move it.
    if (buffer_.pinned()) throw std::system_error(make_error_code(errc::concurrent_read));
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
    // Not a coroutine: the awaited wait is the source's own (one frame less
    // per waiting read, which an idle connection holds for as long as it idles).
    if (self->waiting_) return ready(make_error_code(errc::concurrent_read));
    if (!keep) keep = self->keep_alive();
    if (self->source_ != nullptr) return self->source_->fill(wanted);
    return self->wait_fed();
  }

  /// Marks a read as waiting for as long as it lives.
  class wait_scope {
   public:
    explicit wait_scope(reader_core& core) noexcept : core_(core) { core_.waiting_ = true; }
    wait_scope(const wait_scope&) = delete;
    wait_scope& operator=(const wait_scope&) = delete;
    ~wait_scope() { core_.waiting_ = false; }

   private:
    reader_core& core_;
  };

  /// Whether a wait that completed without error must still report
  /// operation_aborted: an operation that completed just as the coroutine was
  /// cancelled reports success, but whoever cancelled has given up on this
  /// read, so it must not consume anything now. The data stays for the next
  /// read. `state` is the waiting coroutine's
  /// (co_await asio::this_coro::cancellation_state).
  static bool cancelled(const asio::cancellation_state& state) noexcept {
    return state.cancelled() != asio::cancellation_type::none;
  }

 private:
  std::shared_ptr<void> keep_alive() {
    if (source_ != nullptr) return source_->keep_alive();
    return shared_from_this();  // a reader fed by hand owns its state
  }

  static asio::awaitable<std::error_code> ready(std::error_code ec) { co_return ec; }

  // The wait of a reader fed by hand: until feed_data, feed_eof or
  // set_exception (or a cancellation).
  asio::awaitable<std::error_code> wait_fed() {
    const wait_scope waiting(*this);
    std::error_code ec;
    try {
      if (!event_) event_ = std::make_unique<event>(executor_);
      ec = co_await event_->wait();
    } catch (const std::system_error& e) {
      ec = e.code();  // Asio refuses to start an operation in an already-cancelled coroutine
    }
    if (!ec && cancelled(co_await asio::this_coro::cancellation_state)) ec = asio::error::operation_aborted;
    co_return ec;
  }

  void wake_waiter() {
    if (waiting_ && event_) event_->notify_all();
  }

  asio::any_io_executor executor_;
  std::size_t limit_;
  byte_buffer buffer_;
  bool eof_ = false;
  bool waiting_ = false;  // a read waits (a wait_scope is alive)
  std::exception_ptr exception_;
  std::error_code exception_code_;
  reader_source* source_ = nullptr;
  std::unique_ptr<event> event_;  // only for readers fed by hand, made on their first wait
};

}  // namespace costream::detail

#endif
