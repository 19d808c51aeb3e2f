// bench/load_client.cpp: the suite's load client (plain sockets and epoll, so it is never the bottleneck).
// SPDX-License-Identifier: BSL-1.0
//
//   load_client echo  -p PORT [-n LINES] [-c CONNS] [-t SECONDS] [-w WINDOW]
//       Line echo. Lines are 64 bytes (63 printable + '\n'), split over CONNS connections. Each
//       connection writes its byte stream in writes of up to 64 KiB (1,024 lines), keeping at most
//       WINDOW bytes (256 KiB) sent but not yet echoed; one epoll loop reads the echoes and
//       compares every byte. Sending stops after LINES lines or SECONDS seconds (the last line is
//       completed); the run ends when every line sent has come back (at most 20 s more).
//       lines/s = lines echoed / (first write to last echo).
//   load_client bulk  -p PORT [-b BYTES] [-t SECONDS]
//       Sink: one connection writes BYTES in 64 KiB writes (or stops after SECONDS), then
//       shutdown(SHUT_WR); the server must answer "<bytes received>\n". MiB/s is timed from the
//       first write to the answer.
//   load_client bulk-echo -p PORT [-b BYTES] [-t SECONDS]
//       As bulk, and a second thread reads the echo back and checks every byte; timed from the
//       first write to the server's end of stream after the last echoed byte.
//   load_client churn -p PORT [-c LOOPS] [-t SECONDS]
//       LOOPS concurrent loops (one epoll thread) of: connect, "PING\r\n", read "+PONG\r\n",
//       close; for SECONDS. Reports connections/s; failed connections are counted (errors=),
//       retried, and fail the run only past 100.
//   load_client fanin -p PORT -c CONNS [-t HOLD_SECONDS]
//       Opens CONNS connections one after another, one 64-byte line round trip on each, prints
//       "ready conns=N ..." and holds them all open, idle, for HOLD_SECONDS (default 30) or
//       until killed, so that the runner can sample the server's RSS.
//   load_client ping  -p PORT [-n REQUESTS] [-c CONNS] [-P PIPELINE] [-t SECONDS]
//       CONNS connections each send PIPELINE "PING\r\n" requests in one write, read the
//       PIPELINE "+PONG\r\n" replies (checked), and repeat; REQUESTS in total or SECONDS.
//
// Output: one line of key=value pairs on stdout. Exit status 0 on success, 1 on any error or
// mismatch. Only 127.0.0.1 is ever used; every mode is bounded in count and in time.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <thread>
#include <vector>

namespace {

constexpr long long line_size = 64;
constexpr long long block = 65536;

int port = 0;
long long opt_n = 4000000;     // echo: lines; ping: requests
int opt_c = 1;                 // connections (echo, fanin, ping) or loops (churn)
double opt_t = 5.0;            // time bound of the sending phase (hold time for fanin)
long long opt_b = 1LL << 30;   // bulk: bytes
long long opt_w = 256 * 1024;  // echo: bytes in flight per connection
int opt_p = 1;                 // ping: pipeline depth

double now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "load_client: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

double self_cpu() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) * 1e-6 +
         static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) * 1e-6;
}

sockaddr_in server_address() {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

void set_no_delay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int connect_blocking() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  const sockaddr_in sa = server_address();
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) < 0) die("connect 127.0.0.1");
  set_no_delay(fd);
  return fd;
}

void set_timeouts(int fd, double seconds) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(seconds);
  tv.tv_usec = static_cast<suseconds_t>((seconds - static_cast<double>(tv.tv_sec)) * 1e6);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

void set_non_blocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

void write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

// The line pattern: 63 printable bytes and '\n', repeated. It holds block + line_size bytes, so
// any run of up to 64 KiB starting at any offset modulo 64 can be compared in place.
char line_pattern[block + line_size];
void make_line_pattern() {
  static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+";
  for (long long i = 0; i < block + line_size; i++)
    line_pattern[i] = (i % line_size == line_size - 1) ? '\n' : alphabet[i % line_size];
}

// ---- echo ------------------------------------------------------------------------------------

struct echo_conn {
  int fd;
  bool want_out;     // EPOLLOUT currently requested
  long long target;  // bytes to send, a multiple of line_size
  long long sent, received;
};

// EPOLLOUT only while the connection has lines left and room in its window.
void echo_interest(int ep, std::vector<echo_conn>& cs, echo_conn& c) {
  const bool want = c.sent < c.target && c.sent - c.received < opt_w;
  if (want == c.want_out) return;
  epoll_event e{};
  e.events = EPOLLIN | (want ? EPOLLOUT : 0u);
  e.data.u32 = static_cast<std::uint32_t>(&c - cs.data());
  epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &e);
  c.want_out = want;
}

int run_echo() {
  make_line_pattern();
  if (opt_c < 1) opt_c = 1;
  if (opt_w < line_size) opt_w = line_size;
  std::vector<echo_conn> cs(static_cast<std::size_t>(opt_c));
  const int ep = epoll_create1(0);
  for (int i = 0; i < opt_c; i++) {
    echo_conn& c = cs[static_cast<std::size_t>(i)];
    c.fd = connect_blocking();
    set_non_blocking(c.fd);
    const long long lines = opt_n / opt_c + (i < opt_n % opt_c ? 1 : 0);
    c.target = lines * line_size;
    c.want_out = true;
    epoll_event e{};
    e.events = EPOLLIN | EPOLLOUT;
    e.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e);
  }
  static char rbuf[block];
  const double cpu0 = self_cpu();
  const double t0 = now(), stop_sending = t0 + opt_t, hard_deadline = stop_sending + 20.0;
  bool capped = false;
  int open_conns = opt_c;
  epoll_event evs[256];
  auto finish = [&](echo_conn& c) {
    close(c.fd);
    c.fd = -1;
    open_conns--;
  };
  while (open_conns > 0) {
    const double t = now();
    if (!capped && t >= stop_sending) {  // time bound: complete the current line, send no more
      capped = true;
      for (echo_conn& c : cs) {
        const long long cap = (c.sent + line_size - 1) / line_size * line_size;
        if (cap < c.target) c.target = cap;
        if (c.fd < 0) continue;
        if (c.sent >= c.target && c.received >= c.target) {
          finish(c);
        } else {
          echo_interest(ep, cs, c);
        }
      }
    }
    if (t >= hard_deadline) {
      std::fprintf(stderr, "load_client: echo: timed out waiting for the echoes\n");
      return 1;
    }
    const int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) {
      echo_conn& c = cs[evs[k].data.u32];
      if (c.fd < 0) continue;
      if (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        const ssize_t r = read(c.fd, rbuf, sizeof rbuf);
        if (r < 0 && errno != EAGAIN && errno != EINTR) die("read");
        if (r == 0) {
          std::fprintf(stderr, "load_client: echo: server closed early (%lld of %lld bytes back)\n", c.received,
                       c.target);
          return 1;
        }
        if (r > 0) {
          if (std::memcmp(rbuf, line_pattern + c.received % line_size, static_cast<std::size_t>(r)) != 0) {
            std::fprintf(stderr, "load_client: echo: wrong bytes echoed near offset %lld\n", c.received);
            return 1;
          }
          c.received += r;
          if (c.received > c.sent) {
            std::fprintf(stderr, "load_client: echo: more bytes echoed than sent\n");
            return 1;
          }
        }
      }
      if ((evs[k].events & EPOLLOUT) && c.sent < c.target) {
        const long long off = c.sent % block;
        long long room = c.target - c.sent;
        if (opt_w - (c.sent - c.received) < room) room = opt_w - (c.sent - c.received);
        long long len = block - off;
        if (len > room) len = room > 0 ? room : 0;
        if (len > 0) {
          const ssize_t w = write(c.fd, line_pattern + off, static_cast<std::size_t>(len));
          if (w < 0 && errno != EAGAIN && errno != EINTR) die("write");
          if (w > 0) c.sent += w;
        }
      }
      if (c.sent >= c.target && c.received >= c.target) {
        finish(c);
      } else {
        echo_interest(ep, cs, c);
      }
    }
  }
  const double secs = now() - t0;
  long long lines = 0;
  for (const echo_conn& c : cs) lines += c.received / line_size;
  std::printf("mode=echo conns=%d lines=%lld units=%lld seconds=%.3f rate=%.0f client_cpu_s=%.2f\n", opt_c, lines,
              lines, secs, static_cast<double>(lines) / secs, self_cpu() - cpu0);
  return 0;
}

// ---- bulk ------------------------------------------------------------------------------------

// Bytes i of the bulk stream is byte_pattern[i % 251]: a reordered or dropped chunk shows.
constexpr long long byte_period = 251;
char byte_pattern[block + byte_period];
void make_byte_pattern() {
  for (long long i = 0; i < block + byte_period; i++) byte_pattern[i] = static_cast<char>(i % byte_period);
}

int run_bulk(bool echo) {
  make_byte_pattern();
  const int fd = connect_blocking();
  set_timeouts(fd, 30.0);
  std::atomic<long long> echoed{0};
  std::atomic<bool> echo_failed{false};
  double t_echo_done = 0;
  std::thread reader;
  if (echo) {
    reader = std::thread([&] {
      static char rbuf[block];
      long long got = 0;
      for (;;) {
        const ssize_t r = read(fd, rbuf, sizeof rbuf);
        if (r < 0) {
          if (errno == EINTR) continue;
          std::fprintf(stderr, "load_client: bulk-echo: read: %s\n", std::strerror(errno));
          echo_failed = true;
          break;
        }
        if (r == 0) break;
        if (std::memcmp(rbuf, byte_pattern + got % byte_period, static_cast<std::size_t>(r)) != 0) {
          std::fprintf(stderr, "load_client: bulk-echo: wrong bytes echoed near offset %lld\n", got);
          echo_failed = true;
          break;
        }
        got += r;
      }
      t_echo_done = now();
      echoed = got;
    });
  }
  const double cpu0 = self_cpu();
  const double t0 = now(), stop = t0 + opt_t;
  long long sent = 0;
  while (sent < opt_b && now() < stop) {
    write_all(fd, byte_pattern + sent % byte_period, block);
    sent += block;
  }
  shutdown(fd, SHUT_WR);
  double t1 = 0;
  if (echo) {
    reader.join();
    t1 = t_echo_done;
    if (echo_failed) return 1;
    if (echoed != sent) {
      std::fprintf(stderr, "load_client: bulk-echo: %lld bytes echoed, %lld sent\n", echoed.load(), sent);
      return 1;
    }
  } else {
    char reply[64];
    std::size_t got = 0;
    while (got < sizeof reply - 1) {
      const ssize_t r = read(fd, reply + got, sizeof reply - 1 - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        die("read the count");
      }
      if (r == 0) break;
      got += static_cast<std::size_t>(r);
      if (std::memchr(reply, '\n', got)) break;
    }
    t1 = now();
    reply[got] = 0;
    const long long counted = std::atoll(reply);
    if (counted != sent) {
      std::fprintf(stderr, "load_client: bulk: the server counted %lld bytes, %lld sent (reply \"%s\")\n", counted,
                   sent, reply);
      return 1;
    }
  }
  close(fd);
  const double secs = t1 - t0;
  std::printf("mode=%s bytes=%lld units=%lld seconds=%.3f rate=%.1f client_cpu_s=%.2f\n", echo ? "bulk-echo" : "bulk",
              sent, sent, secs, static_cast<double>(sent) / 1048576.0 / secs, self_cpu() - cpu0);
  return 0;
}

// ---- churn -----------------------------------------------------------------------------------

struct churn_slot {
  int fd = -1;
  int got = 0;  // bytes of the reply read so far
};

int run_churn() {
  if (opt_c < 1) opt_c = 1;
  static const char request[] = "PING\r\n";
  static const char reply[] = "+PONG\r\n";
  std::vector<churn_slot> slots(static_cast<std::size_t>(opt_c));
  const int ep = epoll_create1(0);
  long long done = 0, errors = 0;
  const sockaddr_in sa = server_address();

  // Connects slot i and sends the request once connected; errors are counted and retried.
  auto start = [&](std::size_t i) {
    churn_slot& s = slots[i];
    s.got = 0;
    s.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (s.fd < 0) die("socket");
    set_no_delay(s.fd);
    epoll_event e{};
    e.data.u32 = static_cast<std::uint32_t>(i);
    if (connect(s.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
      write_all(s.fd, request, 6);
      e.events = EPOLLIN;
    } else if (errno == EINPROGRESS) {
      e.events = EPOLLOUT;
    } else {
      // Refused or out of ports: counted, and the slot tries again on its next event.
      errors++;
      e.events = EPOLLOUT;
    }
    epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &e);
  };
  const double cpu0 = self_cpu();
  const double t0 = now(), stop = t0 + opt_t, hard_deadline = stop + 10.0;
  for (std::size_t i = 0; i < slots.size(); i++) start(i);
  int active = opt_c;
  epoll_event evs[256];
  while (active > 0) {
    const double t = now();
    if (t >= hard_deadline) {
      std::fprintf(stderr, "load_client: churn: timed out\n");
      return 1;
    }
    const int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) {
      const std::size_t i = evs[k].data.u32;
      churn_slot& s = slots[i];
      if (evs[k].events & EPOLLOUT) {  // connected (or failed)
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0 || write(s.fd, request, 6) != 6) {  // a failed connect: count it, start over
          errors++;
          close(s.fd);
          s.fd = -1;
          if (errors > 100) {
            std::fprintf(stderr, "load_client: churn: too many failed connections (last: %s)\n", std::strerror(err));
            return 1;
          }
          if (now() < stop) {
            start(i);
          } else {
            active--;
          }
          continue;
        }
        epoll_event e{};
        e.events = EPOLLIN;
        e.data.u32 = static_cast<std::uint32_t>(i);
        epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &e);
        continue;
      }
      char buf[16];
      const ssize_t r = read(s.fd, buf, sizeof buf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r <= 0 || s.got + r > 7 || std::memcmp(buf, reply + s.got, static_cast<std::size_t>(r)) != 0) {
        errors++;
      } else {
        s.got += static_cast<int>(r);
        if (s.got < 7) continue;
        done++;
      }
      close(s.fd);
      s.fd = -1;
      if (errors > 100) {
        std::fprintf(stderr, "load_client: churn: too many failed connections\n");
        return 1;
      }
      if (now() < stop) {
        start(i);
      } else {
        active--;
      }
    }
  }
  const double secs = now() - t0;
  std::printf("mode=churn loops=%d conns=%lld units=%lld errors=%lld seconds=%.3f rate=%.0f client_cpu_s=%.2f\n",
              opt_c, done, done, errors, secs, static_cast<double>(done) / secs, self_cpu() - cpu0);
  return 0;
}

// ---- fan-in ----------------------------------------------------------------------------------

int run_fanin() {
  make_line_pattern();
  std::vector<int> fds;
  fds.reserve(static_cast<std::size_t>(opt_c));
  const double t0 = now(), open_deadline = t0 + 60.0;
  char buf[line_size];
  while (static_cast<int>(fds.size()) < opt_c) {
    if (now() > open_deadline) {
      std::fprintf(stderr, "load_client: fanin: only %zu of %d connections within 60 s\n", fds.size(), opt_c);
      return 1;
    }
    const int fd = connect_blocking();
    set_timeouts(fd, 5.0);
    write_all(fd, line_pattern, line_size);
    long long got = 0;
    while (got < line_size) {
      const ssize_t r = read(fd, buf + got, static_cast<std::size_t>(line_size - got));
      if (r <= 0) die("read the echo");
      got += r;
    }
    if (std::memcmp(buf, line_pattern, line_size) != 0) {
      std::fprintf(stderr, "load_client: fanin: wrong echo\n");
      return 1;
    }
    fds.push_back(fd);
  }
  std::printf("ready conns=%zu units=%zu seconds=%.3f\n", fds.size(), fds.size(), now() - t0);
  std::fflush(stdout);
  const double hold_until = now() + opt_t;  // the runner normally ends us earlier, by pid
  while (now() < hold_until) usleep(50000);
  for (const int fd : fds) close(fd);
  return 0;
}

// ---- ping ------------------------------------------------------------------------------------

struct ping_conn {
  int fd;
  long long expected;  // reply bytes still due for the batch in flight
  long long received;  // reply bytes received in total (checked against the pattern)
};

int run_ping() {
  if (opt_c < 1) opt_c = 1;
  if (opt_p < 1) opt_p = 1;
  static const char request[] = "PING\r\n";
  std::vector<char> batch(static_cast<std::size_t>(opt_p) * 6);
  for (int i = 0; i < opt_p; i++) std::memcpy(batch.data() + 6 * i, request, 6);
  // 65536 / 7 replies fit in a read, and any offset modulo 7 can be compared in place.
  static char replies[block + 7];
  for (long long i = 0; i < block + 7; i++) replies[i] = "+PONG\r\n"[i % 7];

  std::vector<ping_conn> cs(static_cast<std::size_t>(opt_c));
  const int ep = epoll_create1(0);
  for (int i = 0; i < opt_c; i++) {
    ping_conn& c = cs[static_cast<std::size_t>(i)];
    c.fd = connect_blocking();
    set_non_blocking(c.fd);
    epoll_event e{};
    e.events = EPOLLIN;
    e.data.u32 = static_cast<std::uint32_t>(i);
    epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &e);
  }
  const double cpu0 = self_cpu();
  const double t0 = now(), stop = t0 + opt_t, hard_deadline = stop + 20.0;
  long long issued = 0, answered = 0;
  int active = 0;
  auto send_batch = [&](ping_conn& c) {
    // A batch is at most 6 * P bytes: it fits in the socket buffer of an idle connection.
    write_all(c.fd, batch.data(), batch.size());
    c.expected = 7LL * opt_p;
    issued += opt_p;
  };
  for (ping_conn& c : cs) {
    if (issued >= opt_n) break;
    send_batch(c);
    active++;
  }
  static char rbuf[block];
  epoll_event evs[256];
  while (active > 0) {
    if (now() >= hard_deadline) {
      std::fprintf(stderr, "load_client: ping: timed out waiting for replies\n");
      return 1;
    }
    const int n = epoll_wait(ep, evs, 256, 100);
    if (n < 0 && errno != EINTR) die("epoll_wait");
    for (int k = 0; k < n; k++) {
      ping_conn& c = cs[evs[k].data.u32];
      const ssize_t r = read(c.fd, rbuf, sizeof rbuf);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (r < 0) die("read");
      if (r == 0 || r > c.expected) {
        std::fprintf(stderr, "load_client: ping: %s\n", r == 0 ? "server closed early" : "more replies than requests");
        return 1;
      }
      if (std::memcmp(rbuf, replies + c.received % 7, static_cast<std::size_t>(r)) != 0) {
        std::fprintf(stderr, "load_client: ping: wrong reply\n");
        return 1;
      }
      c.received += r;
      c.expected -= r;
      if (c.expected > 0) continue;
      answered += opt_p;
      if (issued < opt_n && now() < stop) {
        send_batch(c);
      } else {
        active--;
      }
    }
  }
  const double secs = now() - t0;
  for (ping_conn& c : cs) close(c.fd);
  std::printf("mode=ping conns=%d pipeline=%d requests=%lld units=%lld seconds=%.3f rate=%.0f client_cpu_s=%.2f\n",
              opt_c, opt_p, answered, answered, secs, static_cast<double>(answered) / secs, self_cpu() - cpu0);
  return 0;
}

[[noreturn]] void usage() {
  std::fprintf(stderr,
               "usage: load_client echo  -p PORT [-n LINES] [-c CONNS] [-t SECONDS] [-w WINDOW]\n"
               "       load_client bulk|bulk-echo -p PORT [-b BYTES] [-t SECONDS]\n"
               "       load_client churn -p PORT [-c LOOPS] [-t SECONDS]\n"
               "       load_client fanin -p PORT -c CONNS [-t HOLD_SECONDS]\n"
               "       load_client ping  -p PORT [-n REQUESTS] [-c CONNS] [-P PIPELINE] [-t SECONDS]\n");
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const char* mode = argv[1];
  optind = 2;
  int o;
  bool hold_given = false;
  while ((o = getopt(argc, argv, "p:n:c:t:b:w:P:")) != -1) {
    switch (o) {
      case 'p': port = std::atoi(optarg); break;
      case 'n': opt_n = std::atoll(optarg); break;
      case 'c': opt_c = std::atoi(optarg); break;
      case 't': opt_t = std::atof(optarg); hold_given = true; break;
      case 'b': opt_b = std::atoll(optarg); break;
      case 'w': opt_w = std::atoll(optarg); break;
      case 'P': opt_p = std::atoi(optarg); break;
      default: usage();
    }
  }
  if (port <= 0) usage();
  std::signal(SIGPIPE, SIG_IGN);
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (!std::strcmp(mode, "echo")) return run_echo();
  if (!std::strcmp(mode, "bulk")) return run_bulk(false);
  if (!std::strcmp(mode, "bulk-echo")) return run_bulk(true);
  if (!std::strcmp(mode, "churn")) return run_churn();
  if (!std::strcmp(mode, "fanin")) {
    if (!hold_given) opt_t = 30.0;
    return run_fanin();
  }
  if (!std::strcmp(mode, "ping")) return run_ping();
  usage();
}
