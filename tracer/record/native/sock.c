/* Descriptors and sockets: pipe, socket, socketpair, bind, listen, accept, connect, shutdown, setsockopt, close,
 * dup, dup2, dup3, fcntl's F_DUPFD, close_range, and open (of a FIFO or a terminal: an open of a regular file is
 * given up, as the Python recorder gives it up).
 *
 * Each one updates the descriptor table, so the data calls that follow name their endpoint without a system
 * call; the blobs carry what the Python recorder's do (FORMAT.md, the last paragraph).
 */
#include "ipctrace.h"

#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POST 512

/* Completes a record whose result is a descriptor or 0, with a result blob (NULL: none). */
static int done(struct head *h, int r, int err, struct jb *post)
{
    rec_end(h, r < 0 ? 0 : r, 0, r < 0 ? err : 0, post != NULL && jb_ok(post) ? post->p : NULL,
            post != NULL && jb_ok(post) ? post->n : 0, NULL, 0);
    errno = err;
    return r;
}

/* As the Python recorder has them: a pipe's {"res": [r, w], "ep"}, a socketpair's with "fd" and "ep2" too. */
static void pair_blob(struct jb *j, const int fds[2], int socketpair)
{
    jb_raw(j, "{\"res\":[");
    jb_int(j, fds[0]);
    jb_raw(j, ",");
    jb_int(j, fds[1]);
    jb_raw(j, "]");
    if (socketpair) {
        jb_raw(j, ",\"fd\":");
        jb_int(j, fds[0]);
    }
    jb_raw(j, ",\"ep\":");
    jb_ep(j, fds[0]);
    if (socketpair) {
        jb_raw(j, ",\"ep2\":");
        jb_ep(j, fds[1]);
    }
    jb_raw(j, "}");
}

/* -- pipes ---------------------------------------------------------------------------------------------------- */

static int traced_pipe(int fds[2], int flags, int two, uint64_t site)
{
    REAL(int (*)(int *), pipe);
    REAL(int (*)(int *, int), pipe2);
    UNRECORDED(two ? real_pipe2(fds, flags) : real_pipe(fds));
    JB(a, 64);
    if (two) {
        jb_raw(&a, "{\"args\":{\"flags\":");
        jb_int(&a, flags);
        jb_raw(&a, "}}");
    }
    struct head *h = rec_begin(two ? C_PIPE2 : C_PIPE, -1, 0, site, 0, a.p, a.n, 160, NULL, 0, 0);
    int r = two ? real_pipe2(fds, flags) : real_pipe(fds);
    int err = errno;
    if (r != 0)
        return done(h, r, err, NULL);
    ep_forget(fds[0]);
    ep_forget(fds[1]);
    ep_learn(fds[0], K_PIPE);
    ep_learn(fds[1], K_PIPE);
    JB(post, 160);
    pair_blob(&post, fds, 0);
    return done(h, 0, err, &post);
}

int pipe(int fds[2]) { return traced_pipe(fds, 0, 0, SITE); }
int pipe2(int fds[2], int flags) { return traced_pipe(fds, flags, 1, SITE); }

/* -- sockets -------------------------------------------------------------------------------------------------- */

int socket(int domain, int type, int proto)
{
    REAL(int (*)(int, int, int), socket);
    UNRECORDED(real_socket(domain, type, proto));
    JB(a, 96);
    jb_raw(&a, "{\"args\":{\"family\":");
    jb_int(&a, domain);
    jb_raw(&a, ",\"type\":");
    jb_int(&a, type);
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_SOCKET, -1, F_RES, SITE, 0, a.p, a.n, 256, NULL, 0, 0);
    int fd = real_socket(domain, type, proto);
    int err = errno;
    if (fd < 0)
        return done(h, fd, err, NULL);
    ep_forget(fd);
    ep_learn(fd, socket_kind(domain, type));
    JB(post, 256);
    jb_raw(&post, "{\"args\":{\"family\":");
    jb_int(&post, domain);
    jb_raw(&post, ",\"type\":");
    jb_int(&post, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
    jb_raw(&post, ",\"proto\":");
    jb_int(&post, proto);
    jb_raw(&post, "},\"fd\":");
    jb_int(&post, fd);
    jb_raw(&post, ",\"ep\":");
    jb_ep(&post, fd);
    jb_raw(&post, "}");
    return done(h, fd, err, &post);
}

int socketpair(int domain, int type, int proto, int fds[2])
{
    REAL(int (*)(int, int, int, int *), socketpair);
    UNRECORDED(real_socketpair(domain, type, proto, fds));
    JB(a, 96);
    jb_raw(&a, "{\"args\":{\"family\":");
    jb_int(&a, domain);
    jb_raw(&a, ",\"type\":");
    jb_int(&a, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC));
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_SOCKETPAIR, -1, 0, SITE, 0, a.p, a.n, 256, NULL, 0, 0);
    int r = real_socketpair(domain, type, proto, fds);
    int err = errno;
    if (r != 0)
        return done(h, r, err, NULL);
    for (int i = 0; i < 2; i++) {
        ep_forget(fds[i]);
        ep_learn(fds[i], socket_kind(domain, type));
    }
    JB(post, 256);
    pair_blob(&post, fds, 1);
    return done(h, 0, err, &post);
}

static void addr_args(struct jb *j, const char *key, const struct sockaddr *sa, socklen_t len)
{
    jb_raw(j, "{\"args\":{\"");
    jb_raw(j, key);
    jb_raw(j, "\":");
    jb_addr(j, sa, len);
    jb_raw(j, "}}");
}

/* The socket's own address and its peer's, as keys of the object being written. */
static void names(struct jb *j, int fd, int peer)
{
    jb_key(j, "local");
    jb_local(j, fd, 1);
    if (peer) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int saved = errno;
        if (syscall(SYS_getpeername, fd, &ss, &len) == 0) {
            jb_key(j, "peer");
            jb_addr(j, (struct sockaddr *)&ss, len);
        }
        errno = saved;
    }
}

static void names_blob(struct jb *j, int fd, int peer)
{
    jb_raw(j, "{");
    names(j, fd, peer);
    jb_raw(j, "}");
}

int bind(int fd, const struct sockaddr *sa, socklen_t len)
{
    REAL(int (*)(int, const struct sockaddr *, socklen_t), bind);
    UNRECORDED(real_bind(fd, sa, len));
    JB(a, POST);
    addr_args(&a, "addr", sa, len);
    struct head *h = rec_begin(C_BIND, fd, F_FD, SITE, 0, a.p, jb_ok(&a) ? a.n : 0, POST, NULL, 0, 0);
    int r = real_bind(fd, sa, len);
    int err = errno;
    JB(post, POST);
    if (r == 0 && h != NULL)
        names_blob(&post, fd, 0);
    return done(h, r, err, r == 0 ? &post : NULL);
}

int listen(int fd, int backlog)
{
    REAL(int (*)(int, int), listen);
    UNRECORDED(real_listen(fd, backlog));
    JB(a, 64);
    jb_raw(&a, "{\"args\":{\"backlog\":");
    jb_int(&a, backlog);
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_LISTEN, fd, F_FD, SITE, 0, a.p, a.n, POST, NULL, 0, 0);
    int r = real_listen(fd, backlog);
    int err = errno;
    JB(post, POST);
    if (r == 0 && h != NULL)
        names_blob(&post, fd, 0);
    return done(h, r, err, r == 0 ? &post : NULL);
}

static int traced_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags, int four, uint64_t site)
{
    REAL(int (*)(int, struct sockaddr *, socklen_t *), accept);
    REAL(int (*)(int, struct sockaddr *, socklen_t *, int), accept4);
    UNRECORDED(four ? real_accept4(fd, sa, len, flags) : real_accept(fd, sa, len));
    JB(a, 64);
    if (four) {
        jb_raw(&a, "{\"args\":{\"flags\":");
        jb_int(&a, flags);
        jb_raw(&a, "}}");
    }
    int kind = ep_of(fd)->kind; /* the new socket is of the listening one's kind */
    struct head *h = rec_begin(C_ACCEPT, fd, F_FD | F_RES, site, 0, a.p, a.n, 2 * POST, NULL, 0, 0);
    int r = four ? real_accept4(fd, sa, len, flags) : real_accept(fd, sa, len);
    int err = errno;
    if (r < 0)
        return done(h, r, err, NULL);
    ep_forget(r);
    ep_learn(r, kind);
    JB(post, 2 * POST);
    if (h != NULL) {
        jb_raw(&post, "{\"ep2\":");
        jb_ep(&post, r);
        names(&post, r, 1);
        jb_raw(&post, "}");
    }
    return done(h, r, err, &post);
}

int accept(int fd, struct sockaddr *sa, socklen_t *len) { return traced_accept(fd, sa, len, 0, 0, SITE); }
int accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
    return traced_accept(fd, sa, len, flags, 1, SITE);
}

int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
    REAL(int (*)(int, const struct sockaddr *, socklen_t), connect);
    UNRECORDED(real_connect(fd, sa, len));
    JB(a, POST);
    addr_args(&a, "addr", sa, len);
    struct head *h = rec_begin(C_CONNECT, fd, F_FD, SITE, 0, a.p, jb_ok(&a) ? a.n : 0, 2 * POST, NULL, 0, 0);
    int r = real_connect(fd, sa, len);
    int err = errno;
    JB(post, 2 * POST);
    if (h != NULL && r == 0) {
        names_blob(&post, fd, 1);
    } else if (h != NULL && (err == EINPROGRESS || err == EAGAIN || err == EALREADY)) {
        jb_raw(&post, "{\"local\":"); /* a non-blocking connect under way: this is its peer */
        jb_local(&post, fd, 1);
        jb_raw(&post, ",\"peer\":");
        jb_addr(&post, sa, len);
        jb_raw(&post, "}");
    }
    rec_end(h, 0, 0, r < 0 ? err : 0, post.n && jb_ok(&post) ? post.p : NULL, jb_ok(&post) ? post.n : 0, NULL, 0);
    errno = err;
    return r;
}

int shutdown(int fd, int how)
{
    REAL(int (*)(int, int), shutdown);
    UNRECORDED(real_shutdown(fd, how));
    JB(a, 64);
    jb_raw(&a, "{\"args\":{\"how\":");
    jb_int(&a, how);
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_SHUTDOWN, fd, F_FD, SITE, 0, a.p, a.n, 0, NULL, 0, 0);
    int r = real_shutdown(fd, how);
    return done(h, r, errno, NULL);
}

int setsockopt(int fd, int level, int opt, const void *value, socklen_t len)
{
    REAL(int (*)(int, int, int, const void *, socklen_t), setsockopt);
    UNRECORDED(real_setsockopt(fd, level, opt, value, len));
    JB(a, 128);
    jb_raw(&a, "{\"args\":{\"level\":");
    jb_int(&a, level);
    jb_raw(&a, ",\"opt\":");
    jb_int(&a, opt);
    jb_raw(&a, ",\"value\":");
    if (value != NULL && len == sizeof(int)) {
        int v;
        memcpy(&v, value, sizeof(v));
        jb_int(&a, v);
    } else {
        jb_raw(&a, "null");
    }
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_SETSOCKOPT, fd, F_FD, SITE, 0, a.p, a.n, 0, NULL, 0, 0);
    int r = real_setsockopt(fd, level, opt, value, len);
    return done(h, r, errno, NULL);
}

/* -- close and dup ---------------------------------------------------------------------------------------------- */

int traced_close(int fd, uint64_t site)
{
    REAL(int (*)(int), close);
    UNRECORDED(real_close(fd));
    struct head *h = rec_begin(C_CLOSE, fd, F_FD, site, 0, NULL, 0, 0, NULL, 0, 0);
    int r = real_close(fd);
    int err = errno;
    ep_forget(fd);
    return done(h, r, err, NULL);
}

int close(int fd) { return traced_close(fd, SITE); }

int dup(int fd)
{
    REAL(int (*)(int), dup);
    UNRECORDED(real_dup(fd));
    struct head *h = rec_begin(C_DUP, fd, F_FD | F_RES, SITE, 0, NULL, 0, 0, NULL, 0, 0);
    int r = real_dup(fd);
    int err = errno;
    if (r >= 0)
        ep_copy(fd, r);
    return done(h, r, err, NULL);
}

static int traced_dup2(int fd, int fd2, int flags, int three, uint64_t site)
{
    REAL(int (*)(int, int), dup2);
    REAL(int (*)(int, int, int), dup3);
    UNRECORDED(three ? real_dup3(fd, fd2, flags) : real_dup2(fd, fd2));
    JB(a, 96);
    jb_raw(&a, "{\"args\":{\"fd2\":");
    jb_int(&a, fd2);
    if (three) {
        jb_raw(&a, ",\"flags\":");
        jb_int(&a, flags);
    }
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_DUP2, fd, F_FD | F_RES, site, 0, a.p, a.n, 0, NULL, 0, 0);
    int r = three ? real_dup3(fd, fd2, flags) : real_dup2(fd, fd2);
    int err = errno;
    if (r >= 0)
        ep_copy(fd, r);
    return done(h, r, err, NULL);
}

int dup2(int fd, int fd2) { return traced_dup2(fd, fd2, 0, 0, SITE); }
int dup3(int fd, int fd2, int flags) { return traced_dup2(fd, fd2, flags, 1, SITE); }

static int traced_fcntl(const char *name, int fd, int cmd, void *arg, uint64_t site)
{
    typedef int (*fcntl_fn)(int, int, ...);
    static fcntl_fn real_fcntl, real_fcntl64;
    fcntl_fn *slot = name[5] ? &real_fcntl64 : &real_fcntl;
    if (*slot == NULL)
        *slot = (fcntl_fn)real(name);
    if (cmd != F_DUPFD && cmd != F_DUPFD_CLOEXEC)
        return (*slot)(fd, cmd, arg);
    struct head *h = rec_begin(C_DUP, fd, F_FD | F_RES, site, 0, NULL, 0, 0, NULL, 0, 0); /* a dup by another name */
    int r = (*slot)(fd, cmd, arg);
    int err = errno;
    if (r >= 0)
        ep_copy(fd, r);
    return done(h, r, err, NULL);
}

int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *); /* what libc itself reads: one word, whatever the command */
    va_end(ap);
    return traced_fcntl("fcntl", fd, cmd, arg, SITE);
}

int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    return traced_fcntl("fcntl64", fd, cmd, arg, SITE);
}

static int closed_range(unsigned lo, unsigned hi, int r, uint64_t site, int (*call)(unsigned, unsigned, int),
                        int flags)
{
    JB(a, 96);
    jb_raw(&a, "{\"args\":{\"low\":");
    jb_int(&a, lo);
    jb_raw(&a, ",\"high\":");
    jb_int(&a, (int64_t)hi + 1);
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_CLOSERANGE, -1, 0, site, 0, a.p, a.n, 0, NULL, 0, 0);
    if (call != NULL)
        r = call(lo, hi, flags);
    int err = errno;
    if (r == 0 && !(flags & 4 /* CLOSE_RANGE_CLOEXEC: nothing closes now */))
        ep_forget_range(lo, hi);
    return done(h, r, err, NULL);
}

int close_range(unsigned lo, unsigned hi, int flags)
{
    REAL(int (*)(unsigned, unsigned, int), close_range);
    return closed_range(lo, hi, 0, SITE, real_close_range, flags);
}

void closefrom(int lo)
{
    REAL(void (*)(int), closefrom);
    JB(a, 96);
    jb_raw(&a, "{\"args\":{\"low\":");
    jb_int(&a, lo);
    jb_raw(&a, ",\"high\":null}}");
    struct head *h = rec_begin(C_CLOSERANGE, -1, 0, SITE, 0, a.p, a.n, 0, NULL, 0, 0);
    real_closefrom(lo);
    ep_forget_range(lo < 0 ? 0 : (unsigned)lo, ~0u);
    done(h, 0, errno, NULL);
}

/* -- open: recorded when it opens an IPC endpoint (a FIFO's open waits for its other end) ------------------ */

static int traced_open(int dirfd, const char *path, int flags, mode_t mode, const char *name, uint64_t site)
{
    typedef int (*open_fn)(const char *, int, ...);
    typedef int (*openat_fn)(int, const char *, int, ...);
    static void *fns[4];
    static const char *const names[4] = {"open", "open64", "openat", "openat64"};
    int which = 0;
    while (which < 3 && strcmp(names[which], name) != 0)
        which++;
    if (fns[which] == NULL)
        fns[which] = real(name);
    JB(a, 1200);
    jb_raw(&a, "{\"args\":{\"path\":");
    jb_str(&a, path, path ? strlen(path) : 0);
    jb_raw(&a, ",\"flags\":");
    jb_int(&a, flags);
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_OPEN, -1, F_RES, site, 0, a.p, jb_ok(&a) ? a.n : 0, 160, NULL, 0, 0);
    int fd = which < 2 ? ((open_fn)fns[which])(path, flags, mode) : ((openat_fn)fns[which])(dirfd, path, flags, mode);
    int err = errno;
    if (fd < 0)
        return done(h, fd, err, NULL);
    ep_forget(fd);
    const struct ep *e = ep_of(fd);
    if (h != NULL && (!e->valid || e->kind == K_FILE || e->kind == K_DIR)) {
        __atomic_store_n(&h->state, ST_PADDING, __ATOMIC_RELEASE); /* a regular file: not IPC, given up */
        if (g_inside.depth)
            g_inside.depth--;
        errno = err;
        return fd;
    }
    JB(post, 160);
    jb_raw(&post, "{\"fd\":");
    jb_int(&post, fd);
    jb_raw(&post, ",\"ep\":");
    jb_ep(&post, fd);
    jb_raw(&post, "}");
    return done(h, fd, err, &post);
}

static mode_t mode_of(int flags, va_list ap)
{
    return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? (mode_t)va_arg(ap, int) : 0;
}

#define OPEN_WRAPPER(fn)                                                                                          \
    int fn(const char *path, int flags, ...)                                                                      \
    {                                                                                                             \
        va_list ap;                                                                                               \
        va_start(ap, flags);                                                                                      \
        mode_t mode = mode_of(flags, ap);                                                                         \
        va_end(ap);                                                                                               \
        return traced_open(AT_FDCWD, path, flags, mode, #fn, SITE);                                               \
    }
#define OPENAT_WRAPPER(fn)                                                                                        \
    int fn(int dirfd, const char *path, int flags, ...)                                                           \
    {                                                                                                             \
        va_list ap;                                                                                               \
        va_start(ap, flags);                                                                                      \
        mode_t mode = mode_of(flags, ap);                                                                         \
        va_end(ap);                                                                                               \
        return traced_open(dirfd, path, flags, mode, #fn, SITE);                                                  \
    }
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)
OPENAT_WRAPPER(openat)
OPENAT_WRAPPER(openat64)

/* _FORTIFY_SOURCE's open without a mode. */
int __open_2(const char *path, int flags) { return traced_open(AT_FDCWD, path, flags, 0, "open", SITE); }
int __open64_2(const char *path, int flags) { return traced_open(AT_FDCWD, path, flags, 0, "open64", SITE); }
int __openat_2(int dirfd, const char *path, int flags) { return traced_open(dirfd, path, flags, 0, "openat", SITE); }
