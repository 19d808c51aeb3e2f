/* tests/faults/fault_injector.c: a test-only LD_PRELOAD library that makes loopback sockets fail the
 * ways real networks do (short counts, EINTR, EAGAIN, resets, failed accepts), seeded and counted.
 * SPDX-License-Identifier: BSL-1.0
 *
 * Configuration: COSTREAM_FAULTS="seed=1,short=0.5,eintr=0.2,eagain=0.2,..." (commas, since CTest
 * splits its ENVIRONMENT property at semicolons). Every rate is a probability per call:
 *   short            a read or write is given 1..n-1 of its n bytes (the kernel moves only those,
 *                    so nothing is lost: the caller must come back for the rest)
 *   eintr, eagain    a read or write fails with EINTR / EAGAIN without reaching the kernel
 *   reset            the fraction of TCP connections that are reset; on one, once an end has
 *                    moved a per-connection number of bytes (1..reset_after, default 65536), its
 *                    next read (half of the connections) or next write (the other half) trips:
 *                    the real socket is disconnected (connect AF_UNSPEC: the kernel sends RST,
 *                    so the peer fails too), and from then on every read fails with ECONNRESET
 *                    and every write with EPIPE
 *   accept_enobufs, accept_enomem, accept_emfile
 *                    an accept fails with that errno, the client left in the backlog
 *   epoll_eintr      epoll_wait fails with EINTR
 * Without COSTREAM_FAULTS every call goes straight through.
 *
 * Only loopback TCP sockets and Unix stream sockets are touched; never the
 * eventfd, pipes or timerfd an event loop uses, nor a terminal or a file.
 *
 * Asio waits for sockets with edge-triggered epoll (EPOLLET): after a real
 * EAGAIN, or a real short write (the send buffer is full), an edge comes
 * when data or space arrives. An injected EAGAIN leaves data (or space)
 * where it was, and an injected short write leaves space that a caller
 * (Asio's own write operations), seeing a short write, takes for a full
 * buffer: no edge would ever come, and the operation would wait forever,
 * something no kernel does (the fault soak, without this, times out). So after those the
 * injector re-arms the descriptor with EPOLL_CTL_MOD and the registration
 * the event loop last gave it (recorded by the epoll_ctl wrapper): the kernel
 * reports readiness again if it holds. Short reads and failed accepts are
 * not re-armed: a real short read or a real ENOBUFS leaves the rest in the
 * socket or the backlog with no new edge either, and the library must cope.
 *
 * Thread safety: the state is atomics (per descriptor, and the counters);
 * the random numbers come from one atomic sequence, so a single-threaded
 * run with the same seed makes the same choices for the same calls. The
 * library is built without sanitizer instrumentation: the sanitizers'
 * interceptors in the test binary reach it as "the real function" through
 * dlsym(RTLD_NEXT). */
#undef _FORTIFY_SOURCE
#define _GNU_SOURCE 1

#include "fault_injector.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

/* ---- the real functions ---------------------------------------------- */

static ssize_t (*real_read)(int, void*, size_t);
static ssize_t (*real_recv)(int, void*, size_t, int);
static ssize_t (*real_recvmsg)(int, struct msghdr*, int);
static ssize_t (*real_write)(int, const void*, size_t);
static ssize_t (*real_send)(int, const void*, size_t, int);
static ssize_t (*real_sendmsg)(int, const struct msghdr*, int);
static ssize_t (*real_writev)(int, const struct iovec*, int);
static int (*real_accept)(int, struct sockaddr*, socklen_t*);
static int (*real_accept4)(int, struct sockaddr*, socklen_t*, int);
static int (*real_epoll_wait)(int, struct epoll_event*, int, int);
static int (*real_epoll_ctl)(int, int, int, struct epoll_event*);

/* dlsym returns an object pointer; ISO C has no cast to a function pointer. */
#define LOOK_UP(fn)                       \
  do {                                    \
    void* p = dlsym(RTLD_NEXT, #fn);      \
    if (!p) abort();                      \
    memcpy(&real_##fn, &p, sizeof p);     \
  } while (0)

/* ---- configuration ----------------------------------------------------- */

static struct {
  int active;
  uint64_t seed;
  double short_rate, eintr, eagain, reset, accept_enobufs, accept_enomem, accept_emfile, epoll_eintr;
  uint64_t reset_after;
} config;

static void parse(const char* text) {
  config.reset_after = 65536;
  while (text && *text) {
    const char* end = strchr(text, ',');
    const size_t length = end ? (size_t)(end - text) : strlen(text);
    char item[64];
    if (length < sizeof item) {
      memcpy(item, text, length);
      item[length] = '\0';
      char* equals = strchr(item, '=');
      if (equals) {
        *equals = '\0';
        const char* value = equals + 1;
        const double rate = strtod(value, NULL);
        if (!strcmp(item, "seed")) config.seed = strtoull(value, NULL, 10);
        else if (!strcmp(item, "short")) config.short_rate = rate;
        else if (!strcmp(item, "eintr")) config.eintr = rate;
        else if (!strcmp(item, "eagain")) config.eagain = rate;
        else if (!strcmp(item, "reset")) config.reset = rate;
        else if (!strcmp(item, "reset_after")) config.reset_after = strtoull(value, NULL, 10);
        else if (!strcmp(item, "accept_enobufs")) config.accept_enobufs = rate;
        else if (!strcmp(item, "accept_enomem")) config.accept_enomem = rate;
        else if (!strcmp(item, "accept_emfile")) config.accept_emfile = rate;
        else if (!strcmp(item, "epoll_eintr")) config.epoll_eintr = rate;
        else abort(); /* a misspelt fault would silently test nothing */
      }
    }
    text = end ? end + 1 : NULL;
  }
  if (config.reset_after == 0) config.reset_after = 1;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void initialise(void) {
  LOOK_UP(read);
  LOOK_UP(recv);
  LOOK_UP(recvmsg);
  LOOK_UP(write);
  LOOK_UP(send);
  LOOK_UP(sendmsg);
  LOOK_UP(writev);
  LOOK_UP(accept);
  LOOK_UP(accept4);
  LOOK_UP(epoll_wait);
  LOOK_UP(epoll_ctl);
  const char* text = getenv("COSTREAM_FAULTS");
  if (text && *text) {
    parse(text);
    config.active = 1;
  }
}

static void init(void) { pthread_once(&once, initialise); }

/* ---- random choices ---------------------------------------------------- */

static _Atomic uint64_t draws;

static uint64_t mix(uint64_t x) { /* splitmix64's finaliser */
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

static uint64_t next_random(void) {
  return mix(config.seed * 0x100000001b3ULL + atomic_fetch_add_explicit(&draws, 1, memory_order_relaxed));
}

static double unit(uint64_t r) { return (double)(r >> 11) * (1.0 / 9007199254740992.0); }

static int chance(double rate) { return rate > 0 && unit(next_random()) < rate; }

/* ---- counters ---------------------------------------------------------- */

static struct {
  _Atomic unsigned long long calls, short_counts, eintr, eagain, econnreset, epipe, connections_reset,
      accept_enobufs, accept_enomem, accept_emfile, epoll_eintr, rearmed;
} counts;

#define COUNT(name) atomic_fetch_add_explicit(&counts.name, 1, memory_order_relaxed)

__attribute__((visibility("default"))) void costream_faults_counts(struct costream_fault_counts* out) {
#define COPY(name) out->name = atomic_load_explicit(&counts.name, memory_order_relaxed)
  COPY(calls);
  COPY(short_counts);
  COPY(eintr);
  COPY(eagain);
  COPY(econnreset);
  COPY(epipe);
  COPY(connections_reset);
  COPY(accept_enobufs);
  COPY(accept_enomem);
  COPY(accept_emfile);
  COPY(epoll_eintr);
  COPY(rearmed);
#undef COPY
}

/* ---- connections reset, by their pair of ports ------------------------ */

/* Open addressing; a key is (lower port << 16 | higher port), never 0. */
#define RESET_SLOTS 4096
static _Atomic uint32_t reset_keys[RESET_SLOTS];

static uint32_t port_key(unsigned a, unsigned b) {
  return a < b ? (uint32_t)(a << 16 | b) : (uint32_t)(b << 16 | a);
}

/* Records `key`; true when it was not there yet (this end tripped first). */
static int record_reset(uint32_t key) {
  for (uint32_t i = 0; i < RESET_SLOTS; ++i) {
    _Atomic uint32_t* slot = &reset_keys[(mix(key) + i) % RESET_SLOTS];
    uint32_t seen = 0;
    if (atomic_compare_exchange_strong(slot, &seen, key)) return 1;
    if (seen == key) return 0;
  }
  abort(); /* more reset connections than a test should ever make */
}

__attribute__((visibility("default"))) int costream_faults_was_reset(unsigned port_a, unsigned port_b) {
  const uint32_t key = port_key(port_a, port_b);
  for (uint32_t i = 0; i < RESET_SLOTS; ++i) {
    const uint32_t seen = atomic_load(&reset_keys[(mix(key) + i) % RESET_SLOTS]);
    if (seen == key) return 1;
    if (seen == 0) return 0;
  }
  return 0;
}

/* ---- per descriptor ---------------------------------------------------- */

enum kind { kind_unknown = 0, kind_tcp, kind_unix, kind_other };

struct fd_state {
  /* The socket this state describes (its inode + 1; 0: none yet): a
   * descriptor number reused for another socket starts afresh. */
  _Atomic uint64_t inode;
  _Atomic int kind;
  _Atomic uint32_t key;        /* TCP: the connection's ports; 0 while unknown (or listening) */
  _Atomic uint64_t moved;      /* bytes read and written on this descriptor */
  _Atomic uint64_t reset_at;   /* reset once `moved` reaches this; 0: never */
  _Atomic int reset_on;        /* ...at a read (reading) or at a write (writing) */
  _Atomic int tripped;         /* reset: every read and write fails from now on */
  /* The event loop's epoll registration (recorded by epoll_ctl; not tied to the inode). */
  _Atomic int epfd;            /* -1 or 0 before any: see registered */
  _Atomic int registered;
  _Atomic uint32_t events;
  _Atomic uint64_t data;
};

#define MAX_FDS 65536
static struct fd_state fds[MAX_FDS];

static int is_loopback(const struct sockaddr_storage* address) {
  if (address->ss_family == AF_INET) {
    const struct sockaddr_in* in = (const struct sockaddr_in*)address;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (address->ss_family == AF_INET6) {
    const struct sockaddr_in6* in6 = (const struct sockaddr_in6*)address;
    if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
    return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
  }
  return 0;
}

static unsigned port_of(const struct sockaddr_storage* address) {
  if (address->ss_family == AF_INET) return ntohs(((const struct sockaddr_in*)address)->sin_port);
  if (address->ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6*)address)->sin6_port);
  return 0;
}

/* The connection's key once it is connected; decides then whether it is reset, and after how many bytes. */
static void learn_key(struct fd_state* s, int fd) {
  struct sockaddr_storage local, peer;
  socklen_t local_length = sizeof local, peer_length = sizeof peer;
  if (getsockname(fd, (struct sockaddr*)&local, &local_length) != 0) return;
  if (getpeername(fd, (struct sockaddr*)&peer, &peer_length) != 0) return;
  const uint32_t key = port_key(port_of(&local), port_of(&peer));
  /* Both ends compute the same choice and threshold from the key. */
  const uint64_t h = mix(config.seed ^ mix(key));
  if (config.reset > 0 && unit(h) < config.reset) {
    atomic_store_explicit(&s->reset_on, (int)(mix(h + 1) & 1), memory_order_relaxed);
    atomic_store_explicit(&s->reset_at, 1 + mix(h) % config.reset_after, memory_order_relaxed);
  }
  atomic_store_explicit(&s->key, key, memory_order_relaxed);
}

/* The state of `fd` when it is a socket the injector may touch; else NULL. */
static struct fd_state* touchable(int fd) {
  if (!config.active || fd < 0 || fd >= MAX_FDS) return NULL;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return NULL;
  struct fd_state* s = &fds[fd];
  const uint64_t inode = (uint64_t)st.st_ino + 1;
  if (atomic_load_explicit(&s->inode, memory_order_acquire) != inode) {
    int kind = kind_other;
    int type = 0;
    socklen_t type_length = sizeof type;
    struct sockaddr_storage local;
    socklen_t local_length = sizeof local;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_length) == 0 && type == SOCK_STREAM &&
        getsockname(fd, (struct sockaddr*)&local, &local_length) == 0) {
      if (local.ss_family == AF_UNIX) kind = kind_unix;
      else if (is_loopback(&local)) kind = kind_tcp;
    }
    atomic_store_explicit(&s->kind, kind, memory_order_relaxed);
    atomic_store_explicit(&s->key, 0, memory_order_relaxed);
    atomic_store_explicit(&s->moved, 0, memory_order_relaxed);
    atomic_store_explicit(&s->reset_at, 0, memory_order_relaxed);
    atomic_store_explicit(&s->tripped, 0, memory_order_relaxed);
    atomic_store_explicit(&s->inode, inode, memory_order_release);
  }
  const int kind = atomic_load_explicit(&s->kind, memory_order_relaxed);
  if (kind == kind_other) return NULL;
  if (kind == kind_tcp && atomic_load_explicit(&s->key, memory_order_relaxed) == 0) learn_key(s, fd);
  return s;
}

/* Asks the kernel to report the descriptor's readiness again (see the banner). */
static void rearm(struct fd_state* s, int fd) {
  if (!atomic_load_explicit(&s->registered, memory_order_acquire)) return;
  struct epoll_event event;
  memset(&event, 0, sizeof event);
  event.events = atomic_load_explicit(&s->events, memory_order_relaxed);
  event.data.u64 = atomic_load_explicit(&s->data, memory_order_relaxed);
  const int saved = errno;
  if (real_epoll_ctl(atomic_load_explicit(&s->epfd, memory_order_relaxed), EPOLL_CTL_MOD, fd, &event) == 0)
    COUNT(rearmed);
  errno = saved;
}

/* ---- the decision before each read or write --------------------------- */

enum direction { reading, writing };

/* 0: go ahead, moving at most *length bytes (maybe shortened; *shortened
 * says so); -1: fail now with errno set. */
static int before(struct fd_state* s, int fd, enum direction d, size_t* length, int* shortened) {
  *shortened = 0;
  COUNT(calls);
  if (!atomic_load_explicit(&s->tripped, memory_order_relaxed)) {
    const uint64_t reset_at = atomic_load_explicit(&s->reset_at, memory_order_relaxed);
    if (reset_at != 0 && (int)d == atomic_load_explicit(&s->reset_on, memory_order_relaxed) &&
        atomic_load_explicit(&s->moved, memory_order_relaxed) >= reset_at) {
      atomic_store_explicit(&s->tripped, 1, memory_order_relaxed);
      if (record_reset(atomic_load_explicit(&s->key, memory_order_relaxed))) COUNT(connections_reset);
      /* Disconnecting an established TCP socket sends RST (Linux's
       * tcp_disconnect) and wakes its waiters; the descriptor stays the
       * caller's to close. */
      struct sockaddr unspecified;
      memset(&unspecified, 0, sizeof unspecified);
      unspecified.sa_family = AF_UNSPEC;
      const int saved = errno;
      (void)connect(fd, &unspecified, sizeof unspecified);
      errno = saved;
      /* An operation waiting on the other direction learns of it now, as from a real reset. */
      rearm(s, fd);
    }
  }
  if (atomic_load_explicit(&s->tripped, memory_order_relaxed)) {
    if (d == reading) {
      COUNT(econnreset);
      errno = ECONNRESET;
    } else {
      COUNT(epipe);
      errno = EPIPE;
    }
    return -1;
  }
  if (chance(config.eintr)) {
    COUNT(eintr);
    errno = EINTR;
    return -1;
  }
  if (chance(config.eagain)) {
    COUNT(eagain);
    rearm(s, fd);
    errno = EAGAIN;
    return -1;
  }
  if (*length > 1 && chance(config.short_rate)) {
    *length = 1 + next_random() % (*length - 1);
    *shortened = 1;
    COUNT(short_counts);
  }
  return 0;
}

static ssize_t after(struct fd_state* s, int fd, enum direction d, int shortened, ssize_t result) {
  if (result > 0) atomic_fetch_add_explicit(&s->moved, (uint64_t)result, memory_order_relaxed);
  if (shortened && d == writing && result > 0) rearm(s, fd);
  return result;
}

/* Copies the first `length` bytes' worth of `iov` into `out` (at most `max` entries). */
static int shorten_iov(const struct iovec* iov, int count, size_t length, struct iovec* out, int max) {
  int n = 0;
  for (int i = 0; i < count && n < max && length > 0; ++i) {
    out[n] = iov[i];
    if (out[n].iov_len > length) out[n].iov_len = length;
    length -= out[n].iov_len;
    ++n;
  }
  return n;
}

static size_t iov_total(const struct iovec* iov, size_t count) {
  size_t total = 0;
  for (size_t i = 0; i < count; ++i) total += iov[i].iov_len;
  return total;
}

#define IOV_COPY 128 /* Asio gathers at most 64 buffers */

/* ---- the wrappers ------------------------------------------------------ */

#define EXPORT __attribute__((visibility("default")))

EXPORT ssize_t read(int fd, void* buffer, size_t length) {
  init();
  struct fd_state* s = touchable(fd);
  if (!s) return real_read(fd, buffer, length);
  int shortened;
  if (before(s, fd, reading, &length, &shortened) != 0) return -1;
  return after(s, fd, reading, shortened, real_read(fd, buffer, length));
}

EXPORT ssize_t recv(int fd, void* buffer, size_t length, int flags) {
  init();
  struct fd_state* s = touchable(fd);
  if (!s) return real_recv(fd, buffer, length, flags);
  int shortened;
  if (before(s, fd, reading, &length, &shortened) != 0) return -1;
  return after(s, fd, reading, shortened, real_recv(fd, buffer, length, flags));
}

EXPORT ssize_t recvmsg(int fd, struct msghdr* message, int flags) {
  init();
  struct fd_state* s = touchable(fd);
  if (!s) return real_recvmsg(fd, message, flags);
  size_t length = iov_total(message->msg_iov, message->msg_iovlen);
  const size_t asked = length;
  int shortened;
  if (before(s, fd, reading, &length, &shortened) != 0) return -1;
  if (length == asked) return after(s, fd, reading, shortened, real_recvmsg(fd, message, flags));
  /* The caller's message, with fewer bytes of room; its flags and address come back. */
  struct iovec iov[IOV_COPY];
  struct msghdr copy = *message;
  copy.msg_iov = iov;
  copy.msg_iovlen = (size_t)shorten_iov(message->msg_iov, (int)message->msg_iovlen, length, iov, IOV_COPY);
  const ssize_t result = real_recvmsg(fd, &copy, flags);
  message->msg_namelen = copy.msg_namelen;
  message->msg_controllen = copy.msg_controllen;
  message->msg_flags = copy.msg_flags;
  return after(s, fd, reading, shortened, result);
}

EXPORT ssize_t write(int fd, const void* buffer, size_t length) {
  init();
  struct fd_state* s = touchable(fd);
  if (!s) return real_write(fd, buffer, length);
  int shortened;
  if (before(s, fd, writing, &length, &shortened) != 0) return -1;
  return after(s, fd, writing, shortened, real_write(fd, buffer, length));
}

EXPORT ssize_t send(int fd, const void* buffer, size_t length, int flags) {
  init();
  struct fd_state* s = touchable(fd);
  if (!s) return real_send(fd, buffer, length, flags);
  int shortened;
  if (before(s, fd, writing, &length, &shortened) != 0) return -1;
  return after(s, fd, writing, shortened, real_send(fd, buffer, length, flags));
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr* message, int flags) {
  init();
  struct fd_state* s = touchable(fd);
  if (!s) return real_sendmsg(fd, message, flags);
  size_t length = iov_total(message->msg_iov, message->msg_iovlen);
  const size_t asked = length;
  int shortened;
  if (before(s, fd, writing, &length, &shortened) != 0) return -1;
  if (length == asked) return after(s, fd, writing, shortened, real_sendmsg(fd, message, flags));
  struct iovec iov[IOV_COPY];
  struct msghdr copy = *message;
  copy.msg_iov = iov;
  copy.msg_iovlen = (size_t)shorten_iov(message->msg_iov, (int)message->msg_iovlen, length, iov, IOV_COPY);
  return after(s, fd, writing, shortened, real_sendmsg(fd, &copy, flags));
}

EXPORT ssize_t writev(int fd, const struct iovec* iov, int count) {
  init();
  struct fd_state* s = touchable(fd);
  if (!s || count < 0) return real_writev(fd, iov, count);
  size_t length = iov_total(iov, (size_t)count);
  const size_t asked = length;
  int shortened;
  if (before(s, fd, writing, &length, &shortened) != 0) return -1;
  if (length == asked) return after(s, fd, writing, shortened, real_writev(fd, iov, count));
  struct iovec copy[IOV_COPY];
  const int n = shorten_iov(iov, count, length, copy, IOV_COPY);
  return after(s, fd, writing, shortened, real_writev(fd, copy, n));
}

/* Whether to fail this accept, and with what. */
static int accept_fault(int fd) {
  const double total = config.accept_enobufs + config.accept_enomem + config.accept_emfile;
  if (total <= 0 || !touchable(fd)) return 0;
  const double r = unit(next_random());
  if (r < config.accept_enobufs) {
    COUNT(accept_enobufs);
    return ENOBUFS;
  }
  if (r < config.accept_enobufs + config.accept_enomem) {
    COUNT(accept_enomem);
    return ENOMEM;
  }
  if (r < total) {
    COUNT(accept_emfile);
    return EMFILE;
  }
  return 0;
}

EXPORT int accept(int fd, __SOCKADDR_ARG address, socklen_t* restrict length) {
  init();
  const int e = accept_fault(fd);
  if (e) {
    errno = e;
    return -1;
  }
  return real_accept(fd, address.__sockaddr__, length);
}

EXPORT int accept4(int fd, __SOCKADDR_ARG address, socklen_t* restrict length, int flags) {
  init();
  const int e = accept_fault(fd);
  if (e) {
    errno = e;
    return -1;
  }
  return real_accept4(fd, address.__sockaddr__, length, flags);
}

EXPORT int epoll_wait(int epfd, struct epoll_event* events, int max, int timeout) {
  init();
  if (config.active && chance(config.epoll_eintr)) {
    COUNT(epoll_eintr);
    errno = EINTR;
    return -1;
  }
  return real_epoll_wait(epfd, events, max, timeout);
}

EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) {
  init();
  const int result = real_epoll_ctl(epfd, op, fd, event);
  if (result == 0 && fd >= 0 && fd < MAX_FDS) {
    struct fd_state* s = &fds[fd];
    if ((op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && event) {
      atomic_store_explicit(&s->registered, 0, memory_order_relaxed);
      atomic_store_explicit(&s->epfd, epfd, memory_order_relaxed);
      atomic_store_explicit(&s->events, event->events, memory_order_relaxed);
      atomic_store_explicit(&s->data, event->data.u64, memory_order_relaxed);
      atomic_store_explicit(&s->registered, 1, memory_order_release);
    } else if (op == EPOLL_CTL_DEL) {
      atomic_store_explicit(&s->registered, 0, memory_order_release);
    }
  }
  return result;
}
