// costream/detail/frame_free_wait.hpp: a wait a coroutine awaits without a frame of its own.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_FRAME_FREE_WAIT_HPP
#define COSTREAM_DETAIL_FRAME_FREE_WAIT_HPP

#include <costream/net.hpp>

#include <utility>

namespace costream::detail {

// Awaiting an operation through use_awaitable costs a coroutine frame of
// Asio's (its initiation) for as long as the operation pends: 159 bytes for
// every idle connection's read. Asio's coroutines have a lower-level form,
// the one use_awaitable itself is built on: `co_await f` with f a function
// of the suspended coroutine's frame. f runs once the coroutine has
// suspended; if it takes the coroutine's thread of execution (detach_thread)
// the coroutine stays suspended until a handler that owns the thread
// resumes it, and otherwise it resumes at once. This form, the frame and
// thread types, a thread's entry point and awaitable_handler_base are the
// same on every supported Asio (1.22 to 1.38, and Boost.Asio's); they live
// in Asio's detail namespace, so this header is the one place that names
// them (lean_spawn.hpp starts threads through the aliases below).

using coroutine_frame = net::detail::awaitable_frame_base<net::any_io_executor>;
using coroutine_thread = net::detail::awaitable_thread<net::any_io_executor>;
/// The type of the coroutine at the bottom of a thread (its entry point).
using thread_entry_point = net::awaitable<net::detail::awaitable_thread_entry_point, net::any_io_executor>;

/// The handler of a wait awaited in the frame-free form: it stores the
/// wait's error code where the suspended coroutine reads it (a variable in
/// its frame), then resumes the coroutine, as Asio's own handler does. Its
/// associated executor and cancellation slot are the coroutine's.
///
/// A wait that completes without error after the coroutine was cancelled
/// reports operation_aborted: the wait and the cancellation came at the
/// same moment, and whoever cancelled has given up on what the coroutine
/// was waiting for (a read then consumes nothing; the data stays).
class resume_handler : public net::detail::awaitable_handler_base<net::any_io_executor, void> {
  using base = net::detail::awaitable_handler_base<net::any_io_executor, void>;

 public:
  /// Takes the suspended coroutine's thread (from detach_thread).
  resume_handler(coroutine_thread* thread, error_code* result) noexcept : base(thread), result_(result) {}

  void operator()(const error_code& ec) {
    const bool cancelled = this->get_cancellation_state().cancelled() != net::cancellation_type::none;
    *result_ = !ec && cancelled ? error_code(net::error::operation_aborted) : ec;
    coroutine_frame* frame = this->frame();  // the suspended coroutine (the top of its stack)
    frame->attach_thread(this);
    frame->clear_cancellation_slot();
    this->pump();
  }

 private:
  error_code* result_;
};

/// What `co_await` is given: Asio runs `start(frame)` once the coroutine
/// has suspended (see above).
template <class Start>
struct frame_free_wait {
  Start start;
  coroutine_thread* operator()(coroutine_frame* frame) {
    start(frame);
    return nullptr;
  }
};

}  // namespace costream::detail

#endif
