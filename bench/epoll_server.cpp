// bench/epoll_server.cpp: the C epoll loop baseline, the practical limit of the machine.
// SPDX-License-Identifier: BSL-1.0
//
// usage: epoll_server ping|echo|sink|bulk-echo
//
// Plain C-style code: one thread, level-triggered epoll, non-blocking sockets, TCP_NODELAY. Per
// connection a 64 KiB input buffer; one read() per readiness; lines found with memchr; all the
// replies one read() produced are batched into one output buffer and sent with one write().
// While output is pending the connection stops reading and waits for EPOLLOUT (backpressure).
// Listens on 127.0.0.1, port 0, prints "listening on 127.0.0.1:PORT" first and runs until
// SIGTERM or SIGINT. The modes are those of costream_server.cpp:
//   ping       every line gets "+PONG\r\n"
//   echo       every line is written back
//   sink       counts the bytes until end of stream, then replies "<bytes>\n" and closes
//   bulk-echo  writes back whatever it reads, closes after end of stream
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

enum server_mode { mode_ping, mode_echo, mode_sink, mode_bulk_echo };
constexpr std::size_t in_capacity = 65536;

struct conn {
  int fd;
  int eof;
  char* in;
  std::size_t in_len;
  char* out;
  std::size_t out_len, out_off, out_cap;
  std::uint64_t total;
};

int mode = mode_ping;
int ep = -1;
volatile std::sig_atomic_t stop_requested = 0;

void on_signal(int) { stop_requested = 1; }

void out_append(conn* c, const char* p, std::size_t n) {
  if (c->out_len + n > c->out_cap) {
    std::size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + n) cap *= 2;
    c->out = static_cast<char*>(std::realloc(c->out, cap));
    if (!c->out) std::abort();
    c->out_cap = cap;
  }
  std::memcpy(c->out + c->out_len, p, n);
  c->out_len += n;
}

void conn_close(conn* c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
  close(c->fd);
  std::free(c->in);
  std::free(c->out);
  std::free(c);
}

void set_events(conn* c, std::uint32_t events) {
  epoll_event e{};
  e.events = events;
  e.data.ptr = c;
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

// Writes pending output: 0 when all is sent, 1 when some remains, -1 on error.
int flush_out(conn* c) {
  while (c->out_off < c->out_len) {
    const ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return 1;
      return -1;
    }
    c->out_off += static_cast<std::size_t>(n);
  }
  c->out_off = c->out_len = 0;
  return 0;
}

void process_lines(conn* c) {
  char* p = c->in;
  char* const end = c->in + c->in_len;
  char* nl = nullptr;
  while (p < end && (nl = static_cast<char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p))))) {
    if (mode == mode_ping) {
      out_append(c, "+PONG\r\n", 7);
    } else {
      out_append(c, p, static_cast<std::size_t>(nl + 1 - p));
    }
    p = nl + 1;
  }
  std::size_t rest = static_cast<std::size_t>(end - p);
  if (rest == in_capacity) {  // a line longer than the buffer: echo streams it, ping drops it
    if (mode == mode_echo) out_append(c, c->in, rest);
    rest = 0;
  } else if (rest && p != c->in) {
    std::memmove(c->in, p, rest);
  }
  c->in_len = rest;
}

void on_readable(conn* c) {
  const ssize_t n = read(c->fd, c->in + c->in_len, in_capacity - c->in_len);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return;
    conn_close(c);
    return;
  }
  if (n == 0) {
    c->eof = 1;
    if (mode == mode_sink) {
      char line[32];
      const int len = std::snprintf(line, sizeof line, "%llu\n", static_cast<unsigned long long>(c->total));
      out_append(c, line, static_cast<std::size_t>(len));
    }
  } else if (mode == mode_sink) {
    c->total += static_cast<std::uint64_t>(n);  // the sink discards the data
  } else if (mode == mode_bulk_echo) {
    out_append(c, c->in, static_cast<std::size_t>(n));
  } else {
    c->in_len += static_cast<std::size_t>(n);
    process_lines(c);
  }
  const int r = flush_out(c);
  if (r < 0 || (r == 0 && c->eof)) {
    conn_close(c);
  } else if (r == 1) {
    set_events(c, EPOLLOUT);  // stop reading until the peer takes our output
  }
}

void on_writable(conn* c) {
  const int r = flush_out(c);
  if (r < 0 || (r == 0 && c->eof)) {
    conn_close(c);
  } else if (r == 0) {
    set_events(c, EPOLLIN);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const char* m = argc > 1 ? argv[1] : "";
  if (!std::strcmp(m, "ping")) {
    mode = mode_ping;
  } else if (!std::strcmp(m, "echo")) {
    mode = mode_echo;
  } else if (!std::strcmp(m, "sink")) {
    mode = mode_sink;
  } else if (!std::strcmp(m, "bulk-echo")) {
    mode = mode_bulk_echo;
  } else {
    std::fprintf(stderr, "usage: epoll_server ping|echo|sink|bulk-echo\n");
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: epoll_wait returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof addr;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) || listen(lfd, 4096) ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &addr_len)) {
    std::perror("epoll_server: bind/listen");
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", static_cast<unsigned>(ntohs(addr.sin_port)));
  std::fflush(stdout);

  ep = epoll_create1(0);
  epoll_event le{};
  le.events = EPOLLIN;
  le.data.ptr = nullptr;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);

  epoll_event events[256];
  while (!stop_requested) {
    const int n = epoll_wait(ep, events, 256, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("epoll_server: epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      conn* c = static_cast<conn*>(events[i].data.ptr);
      if (!c) {
        int fd;
        while ((fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn* nc = static_cast<conn*>(std::calloc(1, sizeof(conn)));
          if (!nc) std::abort();
          nc->fd = fd;
          nc->in = static_cast<char*>(std::malloc(in_capacity));
          if (!nc->in) std::abort();
          epoll_event ce{};
          ce.events = EPOLLIN;
          ce.data.ptr = nc;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
        }
        continue;
      }
      if (events[i].events & EPOLLOUT) {
        on_writable(c);
      } else {
        on_readable(c);  // EPOLLIN, EPOLLHUP, EPOLLERR: read() tells which
      }
    }
  }
  return 0;
}
