/* tests/faults/fault_injector.h: what the test-only fault injector (fault_injector.c) exports to the tests.
 * SPDX-License-Identifier: BSL-1.0
 *
 * The injector is loaded with LD_PRELOAD, never linked: a test finds these
 * functions with dlsym(RTLD_DEFAULT, name) and fails when they are absent. */
#ifndef COSTREAM_TESTS_FAULT_INJECTOR_H
#define COSTREAM_TESTS_FAULT_INJECTOR_H

#ifdef __cplusplus
extern "C" {
#endif

/* What the injector did since the process started. */
struct costream_fault_counts {
  unsigned long long calls;             /* wrapped calls on sockets it may touch */
  unsigned long long short_counts;      /* reads and writes given fewer bytes than asked */
  unsigned long long eintr;             /* reads and writes failed with EINTR */
  unsigned long long eagain;            /* reads and writes failed with EAGAIN */
  unsigned long long econnreset;        /* reads failed with ECONNRESET on a reset connection */
  unsigned long long epipe;             /* writes failed with EPIPE on a reset connection */
  unsigned long long connections_reset; /* connections reset (each once, whichever end tripped) */
  unsigned long long accept_enobufs;    /* accepts failed with ENOBUFS */
  unsigned long long accept_enomem;     /* ... ENOMEM */
  unsigned long long accept_emfile;     /* ... EMFILE */
  unsigned long long epoll_eintr;       /* epoll_wait calls failed with EINTR */
  unsigned long long rearmed;           /* readiness re-armed after an injected EAGAIN or short write */
};

/* Name and type of the function that copies the counts out. */
#define COSTREAM_FAULTS_COUNTS "costream_faults_counts"
typedef void costream_faults_counts_fn(struct costream_fault_counts* out);

/* Name and type of the function that says whether the injector reset the TCP
 * connection between these two ports (either order). */
#define COSTREAM_FAULTS_WAS_RESET "costream_faults_was_reset"
typedef int costream_faults_was_reset_fn(unsigned port_a, unsigned port_b);

#ifdef __cplusplus
}
#endif

#endif
