// examples/push_server.cpp: a publish/subscribe server that notices subscribers leave without reading.
// SPDX-License-Identifier: BSL-1.0
//
//   push_server [port [interval_ms]]   port 0 (the default) lets the system pick one; 10 ms
//
// Prints "listening on <address>:<port>", then publishes "message <n>" lines, one every
// interval_ms, to every client that connects (a subscriber), in order. Subscribers only
// receive. Log lines start with the steady clock in seconds ("[81234.567]": CLOCK_MONOTONIC on
// Linux, as Python's time.monotonic()), so a test can compare them with its own clock.
//
// The idea: a handler need not read to learn that its peer has gone. Each subscriber's
// coroutine waits on its own message queue, never on its socket. Yet costream reads every
// connection all the time, as asyncio's transport does, so whenever the coroutine wakes up
// for a message it already knows:
//  - a subscriber that closed (FIN) shows as reader.at_eof();
//  - one that reset (RST) shows as writer.is_closing(), and wait_closed() gives the error.
// The server logs it ("<address> gone: ...") and sends it nothing more: a subscriber that
// leaves is noticed within one interval, without a read, a poll or a timer of its own.
//
// On SIGINT/SIGTERM: stop publishing, let every subscriber flush its queue and close (one that
// does not take its last bytes within 2 s is aborted), print "published <n> messages", "closed".
#include <costream/costream.hpp>  // first: it configures Asio's coroutine support

#include <chrono>
#include <cstdint>
#include <deque>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>
#include <string>

namespace {

namespace net = costream::net;
using std::chrono::steady_clock;

// One thread runs the io_context and every connection shares its executor
// (strand_per_connection = false below): the state is plain data, no lock.
struct subscriber {
  std::deque<std::string> queue;  // published, not yet handed to the writer
  net::steady_timer wakeup;       // an event: expires never, cancel() wakes the waiter
};
std::set<subscriber*> subscribers;
std::uint64_t published = 0;  // messages published so far; the next one's number
bool stopping = false;

void log(const std::string& what) {
  const std::chrono::duration<double> now = steady_clock::now().time_since_epoch();
  std::cout << '[' << std::fixed << std::setprecision(3) << now.count() << "] " << what << std::endl;
}

void wake_all() {
  for (subscriber* s : subscribers) s->wakeup.cancel();
}

void publish(const std::string& message) {
  for (subscriber* s : subscribers) s->queue.push_back(message);
  ++published;
  wake_all();
}

net::awaitable<void> subscribe(costream::stream_reader reader, costream::stream_writer writer) {
  costream::error_code ec;
  std::ostringstream name;
  name << writer.stream().remote_endpoint(ec);
  if (ec) co_return;  // gone already
  subscriber self{{}, net::steady_timer(reader.get_executor(), steady_clock::time_point::max())};
  subscribers.insert(&self);
  log(name.str() + " subscribed, from message " + std::to_string(published));
  std::uint64_t sent = 0;
  std::string gone;
  for (;;) {
    if (self.queue.empty() && !stopping)  // the queue's event; never a read on the socket
      co_await costream::with_error_code(self.wakeup.async_wait(net::use_awaitable), ec);
    // No read waits on this connection, but costream has been reading it all along.
    while (reader.try_read(reader.limit())) {}  // subscribers only receive: drop what they send
    if (writer.is_closing()) {                  // the connection was lost: a reset, most likely
      co_await writer.wait_closed(ec);
      gone = "reset (" + ec.message() + ")";
      break;
    }
    if (reader.at_eof()) {  // the subscriber closed its side; writing would only earn a reset
      gone = "closed (end of stream)";
      break;
    }
    for (; !self.queue.empty(); self.queue.pop_front(), ++sent) writer.write(self.queue.front());
    if (stopping) break;
    // A subscriber slower than the publisher: wait here while its own queue grows; the
    // others do not wait for it. (chat_server.cpp shows how to bound such a backlog.)
    if (writer.needs_drain()) co_await writer.drain(ec);
  }
  subscribers.erase(&self);
  if (!gone.empty()) log(name.str() + " gone: " + gone + ", after " + std::to_string(sent) + " messages");
  writer.close();  // flushes what is left (when stopping: the last messages), then closes
  co_await writer.wait_closed(ec);
}

net::awaitable<void> publisher(std::chrono::milliseconds interval) {
  net::steady_timer tick(co_await net::this_coro::executor);
  costream::error_code ec;
  for (auto next = steady_clock::now() + interval; !stopping; next += interval) {
    tick.expires_at(next);
    co_await costream::with_error_code(tick.async_wait(net::use_awaitable), ec);
    if (!stopping) publish("message " + std::to_string(published) + "\n");
  }
}

net::awaitable<void> serve(std::uint16_t port, std::chrono::milliseconds interval) {
  costream::server_options options;
  options.strand_per_connection = false;  // one thread: every connection shares its executor
  auto server = co_await costream::start_server(subscribe, "127.0.0.1", port, options);
  std::cout << "listening on " << server.sockets()[0] << std::endl;

  auto executor = co_await net::this_coro::executor;
  net::co_spawn(executor, publisher(interval), net::detached);
  net::signal_set signals(executor, SIGINT, SIGTERM);
  signals.async_wait([&server](costream::error_code, int) {
    stopping = true;  // the publisher stops at its next tick
    server.close();
  });
  co_await server.serve_forever();

  wake_all();  // each subscriber writes what is queued for it, then closes
  net::steady_timer grace(executor, std::chrono::seconds(2));
  grace.async_wait([&server](costream::error_code e) {
    if (!e) server.abort_clients();  // someone did not read its last bytes in time
  });
  co_await server.wait_closed();  // every connection gone, every subscribe() returned
  grace.cancel();
  log("published " + std::to_string(published) + " messages");
  std::cout << "closed" << std::endl;
}

}  // namespace

int main(int argc, char* argv[]) {
  const auto port = static_cast<std::uint16_t>(argc > 1 ? std::stoul(argv[1]) : 0);
  const std::chrono::milliseconds interval(argc > 2 ? std::stoul(argv[2]) : 10);
  net::io_context io;
  net::co_spawn(io, serve(port, interval), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}
