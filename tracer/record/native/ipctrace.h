/* The native recorder: an LD_PRELOAD library that writes record/FORMAT.md's logs for any dynamically linked
 * program (writer 2), the way the Python recorder writes them for Python processes.
 *
 * Files: log.c (per-thread memory-mapped logs, records, JSON blobs), fds.c (the descriptor table), io.c (data
 * calls), sock.c (descriptors and sockets), proc.c (processes, start and exit, hand-over to Python), wait.c
 * (readiness waits, sleeps), stdio.c (the standard streams, where printf's bytes reach fd 1), gate.c (the race
 * explorer's gate: record/gate.py's line protocol, spoken before each visible call).
 *
 * Rules every wrapper follows: the program sees what it would untraced (same result, errno, blocking, fd
 * numbers); the recorder holds no descriptor between events and makes no system call per event on the hot
 * path; anything that cannot be recorded is skipped, counted in the log header and said once on stderr.
 */
#ifndef IPCTRACE_NATIVE_H
#define IPCTRACE_NATIVE_H

#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define HIDDEN __attribute__((visibility("hidden")))
#define SITE ((uint64_t)(uintptr_t)__builtin_return_address(0))

/* -- the log format (FORMAT.md; the numbers are layout.py's) ---------------------------------------------- */

enum {
    C_PIPE = 1, C_PIPE2 = 2, C_CLOSE = 3, C_DUP = 4, C_DUP2 = 5, C_START = 6, C_FORK = 7, C_EXEC = 8,
    C_SPAWN = 9, C_WAIT = 10, C_WAITPID = 11, C_KILL = 12, C_EXIT = 13, C_SLEEP = 15, C_READ = 16,
    C_WRITE = 17, C_SOCKET = 18, C_SOCKETPAIR = 19, C_BIND = 21, C_LISTEN = 22, C_ACCEPT = 23,
    C_CONNECT = 24, C_SHUTDOWN = 26, C_SETSOCKOPT = 27, C_SEND = 28, C_SENDTO = 30, C_SENDMSG = 31,
    C_RECV = 32, C_RECVFROM = 34, C_RECVMSG = 36, C_STDIN_WAIT = 40, C_SELECT = 41, C_POLL = 42,
    C_EPOLL_WAIT = 45, C_OPEN = 55, C_READV = 56, C_WRITEV = 57, C_CLOSERANGE = 61,
    C_SITE = 1000, C_PROBLEM = 1001,
};

enum { ST_IN_PROGRESS = 1, ST_DONE = 2, ST_PADDING = 3 };

enum {
    F_FD = 1 << 0, F_ASKED = 1 << 1, F_RES = 1 << 2, F_SIZE = 1 << 3, F_CAPPED = 1 << 4, F_PEEK = 1 << 5,
    F_POINT = 1 << 6,
};
#define F_DATA (F_FD | F_ASKED | F_RES | F_SIZE)

enum {
    K_NONE = 0, K_PIPE = 1, K_UNIX_STREAM = 2, K_UNIX_DGRAM = 3, K_UNIX_SEQPACKET = 4, K_TCP = 5, K_UDP = 6,
    K_TCP6 = 7, K_UDP6 = 8, K_SOCKET = 9, K_FILE = 10, K_TTY = 11, K_CHAR = 12, K_OTHER = 13, K_FIFO = 14,
    K_DIR = 15,
};

struct head {
    uint16_t call;
    uint8_t state;
    uint8_t kind;
    uint32_t length;
    int64_t t0;
    int32_t fd;
    uint32_t flags;
    uint64_t site;
    uint64_t dev;
    uint64_t ino;
    int64_t asked;
    uint32_t data_len;
    uint16_t args_len;
    uint16_t post_len;
    int64_t t1;
    int64_t res;
    int64_t size;
    int32_t err;
    uint32_t post_cap;
};
_Static_assert(sizeof(struct head) == 96, "a record's head is 96 bytes (FORMAT.md)");

/* -- process state (log.c) --------------------------------------------------------------------------------- */

/* ON_RECORD while this process records; 0 in a Python interpreter (the Python recorder owns it), without
 * IPCTRACE_LOGS, or after ipctrace_native_stand_down(); ON_GATED while the explorer holds it at each visible
 * call (gate.c), so the hot path's one test of g_on also finds the gate. */
enum { ON_RECORD = 1, ON_GATED = 2 };
extern HIDDEN int g_on;
extern HIDDEN uint32_t g_cap;
extern HIDDEN int g_pid;

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* the vDSO: no system call */
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
HIDDEN void log_setup(void);
HIDDEN void log_forget_inherited(void);
HIDDEN void problem(const char *sentence); /* a recording failure: said once on stderr and in the log */
HIDDEN void notice(const char *sentence);  /* for the run's summary only (a `problem` record) */
HIDDEN void maps_again(void);

/* The explorer's gate (gate.c): held before a visible call until the controller lets this process go. */
HIDDEN void gate(uint16_t call, int fd);
HIDDEN void gate_forked(pid_t pid); /* in the parent, after a fork under the gate */
HIDDEN int gate_setup(void);        /* at start-up: 1 when the explorer runs this program (maybe a fork server) */
extern HIDDEN int g_virtual_time;   /* under the explorer a sleep only lets others run */

/* A record begun: its head, where its blobs and payload go. NULL: not recorded. */
HIDDEN struct head *rec_begin(uint16_t call, int fd, uint32_t flags, uint64_t site, int64_t asked,
                              const char *args, uint32_t args_len, uint32_t post_cap, const void *data,
                              uint32_t data_len, uint32_t room);
HIDDEN void rec_end(struct head *h, int64_t res, int64_t size, int err, const char *post, uint32_t post_len,
                    const void *data, uint32_t data_len);
HIDDEN void rec_point(uint16_t call, int fd, uint64_t site, const char *args, uint32_t args_len, int64_t res);

static inline char *rec_args(struct head *h) { return (char *)h + sizeof(struct head); }

/* The hot path: data calls without blobs (read, write, send, recv). */

/* The calls this thread is inside (a signal handler's calls nest in the call it interrupted): when the process
 * ends inside one (a handler that calls _exit), ending_inside() completes them, failed with EINTR. */
struct inside {
    struct head *h[8];
    uint32_t depth;
};
extern HIDDEN __thread struct inside g_inside __attribute__((tls_model("initial-exec")));
HIDDEN void ending_inside(void);

static inline void entered(struct head *h)
{
    g_inside.h[g_inside.depth & 7] = h;
    g_inside.depth++;
}

static inline void store_done(struct head *h)
{
    __atomic_store_n(&h->state, ST_DONE, __ATOMIC_RELEASE);
    if (g_inside.depth)
        g_inside.depth--;
}

/* Completes a hot record; errno is read only when the call failed (it is a function call away). */
static inline void hot_end(struct head *h, ssize_t res, const void *data)
{
    if (res < 0) {
        int err = errno;
        h->t1 = now_ns();
        h->err = err;
        errno = err;
    } else {
        if (data != NULL && res > 0) { /* a receive: the room reserved was min(asked, cap) */
            uint64_t kept = (uint64_t)res;
            if (kept > (uint64_t)h->asked)
                kept = (uint64_t)h->asked;
            if (kept > g_cap)
                kept = g_cap;
            __builtin_memcpy(rec_args(h), data, kept);
            h->data_len = (uint32_t)kept;
        }
        h->t1 = now_ns();
        h->res = res;
        h->size = res;
    }
    store_done(h);
}

/* -- JSON blobs (log.c) -------------------------------------------------------------------------------------- */

struct jb {
    char *p;
    uint32_t n, cap;
};
#define JB(name, size) char name##_buf[size]; struct jb name = {name##_buf, 0, size}
HIDDEN size_t put_num(char *out, uint64_t v); /* decimal digits, no NUL */
HIDDEN void jb_raw(struct jb *j, const char *s);
HIDDEN void jb_int(struct jb *j, int64_t v);
HIDDEN void jb_secs(struct jb *j, int64_t ns); /* a float, always with a decimal point (2.0, 0.5) */
HIDDEN void jb_str(struct jb *j, const char *s, size_t len); /* a JSON string: UTF-8 kept, other bytes \udcXX */
HIDDEN void jb_key(struct jb *j, const char *key); /* `,"key":` (the comma only when needed) */
HIDDEN void jb_addr(struct jb *j, const struct sockaddr *sa, socklen_t len); /* [host, port] or a path */
HIDDEN void jb_ep(struct jb *j, int fd); /* [dev, ino, kind] of fd, or null */
static inline int jb_ok(const struct jb *j) { return j->n < j->cap; }

/* -- the descriptor table (fds.c) ---------------------------------------------------------------------------- */

struct ep {
    uint64_t dev, ino;
    uint8_t kind;
    uint8_t valid;
};
#define TABLE_SIZE 65536
extern HIDDEN struct ep g_table[TABLE_SIZE];
HIDDEN const struct ep *ep_lookup(int fd); /* a number not in the table yet: one fstat */

static inline const struct ep *ep_of(int fd)
{
    if (LIKELY(fd >= 0 && fd < TABLE_SIZE) && LIKELY(__atomic_load_n(&g_table[fd].valid, __ATOMIC_ACQUIRE)))
        return &g_table[fd];
    return ep_lookup(fd);
}
HIDDEN void ep_forget(int fd);
HIDDEN void ep_learn(int fd, int kind); /* kind K_NONE: found out with fstat (and a socket's options) */
HIDDEN void ep_copy(int from, int to);
HIDDEN void ep_forget_range(unsigned lo, unsigned hi);
HIDDEN int socket_kind(int domain, int type);
HIDDEN const char *kind_name(int kind);
/* The socket's own address as JSON (cached per descriptor for UDP: a datagram's local end rarely changes). */
HIDDEN void jb_local(struct jb *j, int fd, int refresh);

/* -- the hot path, inlined into each wrapper --------------------------------------------------------------- */

enum { T_NONE, T_OK, T_BUSY, T_FAILED };

struct tlog {
    char *base;
    uint64_t pos, limit, chunk;
    uint32_t n, skipped;
    int tid;
    uint8_t state;
    uint8_t growing;
};
extern HIDDEN __thread struct tlog tl __attribute__((tls_model("initial-exec")));
HIDDEN int tlog_open(struct tlog *t);
HIDDEN int grow(struct tlog *t, uint64_t need);

/* A compare-and-swap that a signal handler on this thread cannot split (one instruction; no other thread
 * writes a thread's cursor, so no lock prefix is needed). */
static inline int cas_cursor(uint64_t *p, uint64_t old, uint64_t new_value)
{
#if defined(__x86_64__)
    uint64_t prev;
    __asm__ volatile("cmpxchgq %2, %1" : "=a"(prev), "+m"(*p) : "r"(new_value), "0"(old) : "memory", "cc");
    return prev == old;
#else
    return __atomic_compare_exchange_n(p, &old, new_value, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
#endif
}

/* The next `len` bytes of this thread's log; -1 when they cannot be had. */
static inline int64_t reserve(struct tlog *t, uint64_t len)
{
    for (;;) {
        uint64_t pos = t->pos, next = pos + len;
        if (UNLIKELY(next > t->limit)) {
            if (!grow(t, next))
                return -1;
            continue;
        }
        if (LIKELY(cas_cursor(&t->pos, pos, next)))
            return (int64_t)pos;
    }
}

static inline struct tlog *tlog(void)
{
    struct tlog *t = &tl;
    if (LIKELY(t->state == T_OK))
        return t;
    if (t->state == T_NONE && g_on && tlog_open(t))
        return t;
    return NULL;
}

static inline void first_word(struct head *h, uint16_t call, uint8_t kind, uint32_t length)
{
    uint64_t word = (uint64_t)call | (uint64_t)ST_IN_PROGRESS << 16 | (uint64_t)kind << 24 | (uint64_t)length << 32;
    __atomic_store_n((uint64_t *)h, word, __ATOMIC_RELAXED); /* one store: a reserved head is never all zero */
}

/* Begins a data call without blobs (read, write, send, recv): one reservation, the head, a send's payload. */
static inline struct head *hot_begin(uint16_t call, int fd, uint64_t site, const void *data, size_t n, int receive)
{
    if (UNLIKELY(g_on != ON_RECORD)) {
        if (!g_on)
            return NULL;
        gate(call, fd);
    }
    struct tlog *t = tlog();
    if (UNLIKELY(t == NULL))
        return NULL;
    uint32_t keep = n < g_cap ? (uint32_t)n : g_cap;
    uint32_t length = (uint32_t)(sizeof(struct head) + keep + 7) & ~7u;
    int64_t pos = reserve(t, length);
    if (UNLIKELY(pos < 0))
        return NULL;
    struct head *h = (struct head *)(t->base + pos);
    const struct ep *e = ep_of(fd);
    first_word(h, call, e->kind, length);
    h->fd = fd;
    h->flags = F_DATA | (n > g_cap ? F_CAPPED : 0);
    h->site = site;
    h->dev = e->dev;
    h->ino = e->ino;
    h->asked = (int64_t)n;
    if (!receive && keep) {
        __builtin_memcpy(rec_args(h), data, keep);
        h->data_len = keep;
    }
    __atomic_store_n(&h->t0, now_ns(), __ATOMIC_RELEASE); /* t0 set: the call has begun */
    entered(h);
    return h;
}

/* -- the real functions ------------------------------------------------------------------------------------- */

HIDDEN void *real(const char *name);
/* Where this process is not recorded (a Python interpreter, no log folder, stood down): only the call. */
#define UNRECORDED(call) \
    if (UNLIKELY(!g_on)) \
    return call

#define REAL(type, name) \
    static __typeof__(type) real_##name; \
    if (UNLIKELY(real_##name == NULL)) real_##name = (type)real(#name)

/* -- shared by the wrappers ----------------------------------------------------------------------------------- */

HIDDEN void stdin_wait(uint64_t site); /* the marker before a read of fd 0 that will wait for input */
HIDDEN int fd0_has_input(void);
HIDDEN ssize_t traced_read(int fd, void *buf, size_t n, uint64_t site);
HIDDEN ssize_t traced_write(int fd, const void *buf, size_t n, uint64_t site);
HIDDEN int traced_close(int fd, uint64_t site);
HIDDEN void stdio_setup(void);
HIDDEN void stdio_flush(void);
HIDDEN int sys_close(int fd);

#endif
