// tests/support/run.hpp: run a test coroutine on a fresh io_context under a deadline.
// SPDX-License-Identifier: BSL-1.0
#ifndef COSTREAM_TESTS_SUPPORT_RUN_HPP
#define COSTREAM_TESTS_SUPPORT_RUN_HPP

#include <costream/costream.hpp>

#include "support/net_all.hpp"

#include <chrono>
#include <exception>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <stdexcept>
#include <string>
#include <utility>

// Never write co_await inside a Catch assertion (CHECK(co_await r.readline()
// == ...)): Catch wraps the expression in __builtin_constant_p, and g++ 12's
// coroutine transform still evaluates the co_await, so the operation runs
// twice. Await into a variable, then check it.

namespace costream::test {

/// Runs `make()`'s coroutine to completion on `io` and rethrows
/// what it threw. A test that is still running after `deadline` fails
/// (throws std::runtime_error) instead of hanging CI: the io_context is
/// stopped and the pending coroutines are destroyed.
template <class MakeCoroutine>
void run_on(asio::io_context& io, MakeCoroutine make, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  std::exception_ptr failure;
  bool done = false;
  asio::co_spawn(io, make(), [&](std::exception_ptr e) {
    failure = e;
    done = true;
  });
  asio::steady_timer timer(io, deadline);
  timer.async_wait([&](costream::error_code ec) {
    if (!ec && !done) io.stop();
  });
  while (!done && !io.stopped()) {
    if (io.run_one() == 0) break;
    if (done) timer.cancel();
  }
  if (!done) throw std::runtime_error("test coroutine did not finish within the deadline");
  if (failure) std::rethrow_exception(failure);
}

/// run_on a new, default io_context.
template <class MakeCoroutine>
void run(MakeCoroutine make, std::chrono::milliseconds deadline = std::chrono::seconds(20)) {
  asio::io_context io;
  run_on(io, std::move(make), deadline);
}

/// Exit code CTest reads as "skipped" (SKIP_RETURN_CODE): a test that cannot
/// run on this machine says why and is reported as skipped, never as passed.
inline constexpr int skip_exit_code = 77;

/// Ends the test process as skipped, printing the reason. Each test case
/// runs in a process of its own under CTest, so only this case is skipped.
[[noreturn]] inline void skip(const std::string& reason) {
  std::cout << "SKIPPED: " << reason << std::endl;
  std::_Exit(skip_exit_code);
}

/// Sleeps on the awaiting coroutine's executor.
inline asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace costream::test

#endif
