// bench/await_cost.cpp: what one co_await costs inside an asio::awaitable coroutine when the
// awaited result is ready at once, for each way a ready read or drain() could be built.
// SPDX-License-Identifier: BSL-1.0
//
// usage: await_cost [awaits per measurement, default 2000000] [rounds, default 3]
//
// Measured, per await, on one thread (steady_clock over the whole loop):
//   coroutine          a coroutine returning awaitable<void> that finishes without suspending:
//                      what costream's readline() and drain() are when the buffer answers
//   use_awaitable op   an async_initiate operation with use_awaitable, completed through post
//   op, immediate      an async_initiate operation awaited directly (the awaitable's
//                      await_transform for async operations, in Asio 1.26 and later), completed
//                      through the handler's immediate executor (Asio 1.28 and later): the
//                      cheapest an operation-style ready read could be
//   op, post           an operation awaited directly, completed through post (Asio 1.26 and
//                      later)
// (An operation that calls its handler inside the initiation is left out: awaited directly it
// resumes the coroutine recursively, and a loop of them overflows the stack.)
//
// Output: one line per measurement, key=value pairs.
#include <costream/costream.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>

namespace {

namespace net = costream::net;
using clock_type = std::chrono::steady_clock;

unsigned long counter = 0;  // the work each awaited call does, kept observable

net::awaitable<void> ready_coroutine() {
  ++counter;
  co_return;
}

template <class Token>
auto posted_op(const net::any_io_executor& executor, Token&& token) {
  return net::async_initiate<Token, void()>(
      [executor](auto handler) {
        ++counter;
        net::post(executor, std::move(handler));
      },
      token);
}

#if COSTREAM_ASIO_VERSION >= 102800  // associated immediate executors came with Asio 1.28
template <class Token>
auto immediate_op(const net::any_io_executor& executor, Token&& token) {
  return net::async_initiate<Token, void()>(
      [executor](auto handler) {
        ++counter;
        auto immediate = net::get_associated_immediate_executor(handler, executor);
        net::dispatch(immediate, std::move(handler));
      },
      token);
}
#endif

void report(const char* what, int awaits, clock_type::duration elapsed) {
  const double ns = std::chrono::duration<double, std::nano>(elapsed).count() / awaits;
  std::printf("await=%s ns_per_await=%.1f awaits=%d\n", what, ns, awaits);
}

net::awaitable<void> measure(int awaits, int rounds) {
  const auto executor = co_await net::this_coro::executor;
  for (int round = 0; round < rounds; ++round) {
    auto started = clock_type::now();
    for (int i = 0; i < awaits; ++i) co_await ready_coroutine();
    report("coroutine", awaits, clock_type::now() - started);

    started = clock_type::now();
    for (int i = 0; i < awaits; ++i) co_await posted_op(executor, net::use_awaitable);
    report("use_awaitable_op", awaits, clock_type::now() - started);

#if COSTREAM_ASIO_VERSION >= 102800
    started = clock_type::now();
    for (int i = 0; i < awaits; ++i) co_await immediate_op(executor, costream::compat::deferred);
    report("op_immediate", awaits, clock_type::now() - started);
#endif

#if COSTREAM_ASIO_VERSION >= 102600  // an async operation awaited without use_awaitable
    started = clock_type::now();
    for (int i = 0; i < awaits; ++i) co_await posted_op(executor, costream::compat::deferred);
    report("op_post", awaits, clock_type::now() - started);
#endif
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int awaits = argc > 1 ? std::atoi(argv[1]) : 2'000'000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  if (awaits <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: await_cost [awaits > 0] [rounds > 0]\n");
    return 2;
  }
  net::io_context io(1);
  net::co_spawn(io, measure(awaits, rounds), net::detached);
  io.run();
  std::printf("asio=%d counted=%lu\n", COSTREAM_ASIO_VERSION, counter);
  return counter == 0;
}
