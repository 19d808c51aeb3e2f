// costream/detail/reader_core.hpp: the state of a stream reader and the one place a read waits for data.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_READER_CORE_HPP
#define COSTREAM_DETAIL_READER_CORE_HPP

#include <costream/net.hpp>
#include <costream/compat.hpp>
#include <costream/detail/byte_buffer.hpp>
#include <costream/detail/data_waiter.hpp>
#include <costream/detail/event.hpp>
#include <costream/detail/frame_free_wait.hpp>
#include <costream/error.hpp>

#include <cstddef>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace costream::detail {

/// What a connected reader asks of the transport that feeds it. Data flows
/// the other way: the transport reads continuously into the reader's buffer
/// and reports arrivals, end of stream and errors; the reader only says
/// when it wants more after the transport paused (asyncio's
/// resume_reading), and lends the connection to a read while it waits.
class reader_transport {
 public:
  /// The transport paused (over 2 x limit buffered) and now a read waits,
  /// or the reads brought the buffer down to the limit: read again.
  virtual void resume_reading() = 0;

  /// Ownership of the connection (and so of the reader state in it), taken
  /// by a read for as long as it waits.
  virtual std::shared_ptr<void> keep_alive() = 0;

  /// The connection's executor.
  virtual net::any_io_executor executor() = 0;

 protected:
  ~reader_transport() = default;
};

/// What a read keeps in its frame for its waits (see
/// reader_core::wait_for_data): the outcome of the last wait and, from the
/// first wait on, ownership of the connection.
struct wait_state {
  error_code ec;
  std::shared_ptr<void> keep;
};

/// The reader's state, shared by the reader handles and (for a connected
/// reader) owned by the protocol. Touched only from the connection's executor.
///
/// Flow control is asyncio's: the transport stops reading once more than
/// 2 x limit bytes are buffered (pause_reading) and reads again when a read
/// has to wait or the reads have brought the buffer down to the limit.
class reader_core {
 public:
  /// A connected reader's state: attach() names its transport, which also
  /// gives the executor (the connection holds one copy of it, the stream's).
  explicit reader_core(std::size_t limit) : limit_(limit) {
    if (limit == 0) throw std::invalid_argument("costream: the limit must be greater than zero");
  }
  /// The state of a reader fed by hand on `executor`, owned by its handles.
  static std::shared_ptr<reader_core> make_fed(const net::any_io_executor& executor, std::size_t limit) {
    auto core = std::make_shared<reader_core>(limit);
    core->fed_ = std::make_unique<fed_state>(executor, core);
    return core;
  }

  reader_core(const reader_core&) = delete;
  reader_core& operator=(const reader_core&) = delete;

  net::any_io_executor executor() const noexcept {
    return transport_ != nullptr ? transport_->executor() : fed_->wake.executor();
  }
  std::size_t limit() const noexcept { return limit_; }
  byte_buffer& buffer() noexcept { return buffer_; }
  const byte_buffer& buffer() const noexcept { return buffer_; }
  bool eof() const noexcept { return eof_; }
  bool at_eof() const noexcept { return eof_ && buffer_.empty(); }
  std::exception_ptr exception() const noexcept { return exception_; }
  bool has_exception() const noexcept { return exception_ != nullptr; }
  void attach(reader_transport* transport) noexcept { transport_ = transport; }
  /// A read is waiting for data.
  bool waiting() const noexcept { return waiting_ || waiter_.waiting(); }

  // ---- flow control (the transport's side) ---------------------------------

  /// More than 2 x limit bytes are buffered: the transport should stop reading.
  bool over_high_water() const noexcept { return buffer_.size() > 2 * limit_; }
  /// The transport stopped reading; resume_reading() is called when it should read again.
  void pause_reading() noexcept { reading_paused_ = true; }
  bool reading_paused() const noexcept { return reading_paused_; }

  // ---- consumption (every read takes bytes through these) ------------------

  void consume(std::size_t n) noexcept {
    buffer_.consume(n);
    if (reading_paused_) maybe_resume();
  }
  void clear_buffer() noexcept {
    buffer_.clear();
    if (reading_paused_) maybe_resume();
  }

  /// The stored exception as an error code, for the no-throw forms.
  error_code exception_code() const noexcept { return exception_code_; }

  void feed_data(std::string_view bytes) {
    if (eof_) throw system_error(make_error_code(errc::feed_after_eof));
    // The transport is reading into the buffer: feeding now would move it.
    if (buffer_.pinned()) throw system_error(make_error_code(errc::concurrent_read));
    if (bytes.empty()) return;
    buffer_.append(bytes);
    wake_waiter();
  }

  /// Bytes the transport read straight into buffer().prepare(): no copy.
  void commit_data(std::size_t n) noexcept { buffer_.commit(n); }

  /// The transport has added bytes: the waiting read, if any, resumes now,
  /// inside this call when on its executor. The transport calls it last.
  void data_received() { waiter_.notify(); }

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
      } catch (...) {
        if (auto code = current_system_error()) exception_code_ = *code;
      }
    } else {
      exception_code_ = {};
    }
    wake_waiter();
  }

  void set_error(error_code ec) {
    set_exception(std::make_exception_ptr(system_error(ec)));
  }

  /// `co_await wait_for_data(...)`: waits until the buffer, the end-of-stream
  /// flag or the exception may have changed, and leaves an error code in
  /// `state.ec` (in the awaiting coroutine's frame): empty, or
  /// errc::concurrent_read if another read already waits (reported, never
  /// corrupting the buffer), or operation_aborted if the awaiting coroutine
  /// was cancelled, even when data came at the same moment (whoever
  /// cancelled has given up on this read; see resume_handler). After an
  /// error the caller consumes nothing, and every byte that arrived stays
  /// buffered.
  ///
  /// A read holds only a pointer to this state while the buffer answers it
  /// (no reference count is touched per read); from its first wait on,
  /// `state.keep` owns the connection, so the read can finish even if every
  /// handle went away meanwhile.
  static auto wait_for_data(reader_core* self, wait_state& state) {
    // Awaited in Asio's frame-free form (see frame_free_wait.hpp): an idle
    // connection's read holds its own frame and nothing more.
    return frame_free_wait{[self, &state](coroutine_frame* frame) { self->start_wait(frame, state); }};
  }

  /// Destroys a waiting read's suspended coroutine without resuming it:
  /// for a connection torn down with the io_context (see data_waiter).
  void drop_waiter() noexcept { waiter_.drop(); }

 private:
  std::shared_ptr<void> keep_alive() {
    if (transport_ != nullptr) return transport_->keep_alive();
    return fed_->self.lock();  // a reader fed by hand owns its state
  }

  void maybe_resume() {
    if (buffer_.size() <= limit_ && transport_ != nullptr) {
      reading_paused_ = false;
      transport_->resume_reading();
    }
  }

  // Runs once the waiting coroutine has suspended (see wait_for_data).
  void start_wait(coroutine_frame* frame, wait_state& state) {
    if (waiting()) {
      state.ec = errc::concurrent_read;
      return;  // the coroutine keeps its thread: it resumes at once
    }
    coroutine_thread* thread = frame->detach_thread();
    if (thread->get_cancellation_state().cancelled() != net::cancellation_type::none) {
      // Cancelled before it waits: no cancellation will come to end the
      // wait (Asio's own operations refuse to start then).
      frame->attach_thread(thread);
      state.ec = net::error::operation_aborted;
      return;
    }
    if (!state.keep) state.keep = keep_alive();
    if (transport_ == nullptr) return start_fed_wait(resume_handler(thread, &state.ec));
    // The coroutine is suspended, so no view of the buffer is in use: an
    // empty buffer gives its storage back while the connection waits.
    if (buffer_.empty() && !buffer_.pinned()) buffer_.release();
    if (reading_paused_) {
      // asyncio's _wait_for_data: a read that needs more than is buffered
      // resumes the transport, whatever the buffer holds.
      reading_paused_ = false;
      transport_->resume_reading();
    }
    waiter_.start(resume_handler(thread, &state.ec));
  }

  // The wait of a reader fed by hand: until feed_data, feed_eof or
  // set_exception (or a cancellation), on the event's timer, which keeps the
  // io_context's work and is destroyed with it.
  void start_fed_wait(resume_handler handler) {
    waiting_ = true;
    fed_->wake.async_wait(fed_wait_done{std::move(handler), this});
  }

  struct fed_wait_done {
    resume_handler handler;
    reader_core* core;

    using executor_type = net::any_io_executor;
    executor_type get_executor() const noexcept { return handler.get_executor(); }
    using cancellation_slot_type = net::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept { return handler.get_cancellation_slot(); }

    void operator()(const error_code& ec) {
      core->waiting_ = false;
      handler(ec);
    }
  };

  // Wakes for feed_data, feed_eof and set_exception (from the transport or
  // from user code): the waiting read resumes later, not inside the call.
  void wake_waiter() {
    if (waiting_ && fed_) fed_->wake.notify_all();
    waiter_.notify_later();
  }

  // What only a reader fed by hand has: its wait (and executor), and a weak
  // reference to itself for its waiting reads to own it by (keep_alive). A
  // connected reader's state is part of its connection, which has neither.
  struct fed_state {
    fed_state(const net::any_io_executor& executor, const std::shared_ptr<reader_core>& core)
        : wake(executor), self(core) {}
    event wake;
    std::weak_ptr<reader_core> self;
  };

  // The flags sit together after the words (and discarding_line with them):
  // every connection has one of these.
  std::size_t limit_;
  byte_buffer buffer_;
  std::exception_ptr exception_;
  error_code exception_code_;
  reader_transport* transport_ = nullptr;
  data_waiter waiter_;                // the waiting read of a connected reader
  std::unique_ptr<fed_state> fed_;  // only for readers fed by hand
  bool eof_ = false;
  bool waiting_ = false;         // a read waits (a wait_scope is alive)
  bool reading_paused_ = false;  // the transport stopped reading (over 2 x limit buffered)

 public:
  /// readline's memory of an over-long line it has not finished discarding
  /// (see readline): set while the rest of that line must still be dropped,
  /// `discarded` bytes of it so far. (Declared last, beside the flags above.)
  bool discarding_line = false;
  std::size_t discarded = 0;
};

}  // namespace costream::detail

#endif
