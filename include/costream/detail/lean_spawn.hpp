// costream/detail/lean_spawn.hpp: starts a coroutine as a thread of its own, with a smaller entry frame than co_spawn's.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_DETAIL_LEAN_SPAWN_HPP
#define COSTREAM_DETAIL_LEAN_SPAWN_HPP

#include <costream/net.hpp>
#include <costream/detail/frame_free_wait.hpp>

#include <exception>
#include <utility>

namespace costream::detail {

// co_spawn runs a coroutine under an entry frame of Asio's that lives as
// long as the coroutine: a server's client callback, which may idle for
// hours. On Asio 1.22 that frame holds three executors (the one it runs on,
// a work guard of it, a work guard of the handler's) plus the handler: 447
// bytes per connection. The entry below holds the coroutine, the completion
// and the thread's own executor record: about half of that. It keeps no
// work guard: the caller keeps the executor's work while such coroutines
// run (a server does while it has connections).

template <class Done>
thread_entry_point lean_spawn_entry(net::awaitable<void> body, Done done) {
  try {
    co_await std::move(body);
  } catch (...) {
    // Called here, not after the try: an exception_ptr variable would be
    // one more member of the frame every idle connection holds.
    done(std::current_exception());
    co_return;
  }
  done(std::exception_ptr());
}

/// Runs `body` on `executor` as a thread of execution of its own (not
/// inside this call unless dispatch runs it here, as co_spawn), then
/// `done(exception_ptr)` on it: null, or what `body` threw. Not cancellable
/// from outside, as co_spawn with a handler that has no cancellation slot.
/// If the executor's context is destroyed first, `body` and `done` are
/// destroyed without running.
template <class Done>
void lean_spawn(const net::any_io_executor& executor, net::awaitable<void> body, Done done) {
  coroutine_thread thread(lean_spawn_entry(std::move(body), std::move(done)), executor, net::cancellation_slot(),
                          net::cancellation_state());
  net::dispatch(executor, [thread = std::move(thread)]() mutable { thread.launch(); });
}

}  // namespace costream::detail

#endif
