/* The calls that move bytes: read, write, readv, writev, send, recv, sendto, recvfrom, sendmsg, recvmsg, and the
 * fortified variants (_FORTIFY_SOURCE builds call __read_chk and friends, which would reach the kernel through
 * libc's internal read, unseen).
 *
 * A send's bytes are stored before the call, a receive's after it, capped at IPCTRACE_PAYLOAD_CAP; the true
 * length is always kept. Plain read/write/send/recv carry no blob (FORMAT.md's hot calls).
 */
#include "ipctrace.h"

#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*rw_fn)(int, void *, size_t);
typedef ssize_t (*wr_fn)(int, const void *, size_t);

/* -- the standard input: the session feeds a scripted line when it sees the marker ------------------------- */

int fd0_has_input(void)
{
    int n = 0, saved = errno;
    long r = syscall(SYS_ioctl, 0, FIONREAD, &n);
    errno = saved;
    return r == 0 && n > 0;
}

void stdin_wait(uint64_t site)
{
    const struct ep *e = ep_of(0);
    int waits = e->valid && e->kind != K_FILE && e->kind != K_DIR && e->kind != K_CHAR && e->kind != K_OTHER;
    if (!waits || fd0_has_input())
        return; /* a file or /dev/null never waits; bytes already there are read at once */
    static const char blob[] = "{\"fd\":0,\"args\":{\"want\":\"line\"}}";
    rec_point(C_STDIN_WAIT, -1, site, blob, sizeof(blob) - 1, 0);
}

/* -- read and write ----------------------------------------------------------------------------------------- */

/* The body of a hot data call (read, write, send, recv without flags: FORMAT.md's hot calls, no blob): the
 * record around `call`, a send's bytes stored before it, a receive's after. `receive` is a constant, so each
 * wrapper compiles to the code it would have written out. */
#define HOT_CALL(code, fd, site, buf, n, receive, call) \
    do { \
        struct head *hot_ = hot_begin(code, fd, site, (receive) ? NULL : (buf), n, receive); \
        ssize_t r_ = (call); \
        if (hot_ != NULL) \
            hot_end(hot_, r_, (receive) ? (buf) : NULL); \
        return r_; \
    } while (0)

ssize_t traced_read(int fd, void *buf, size_t n, uint64_t site)
{
    static rw_fn real_read;
    if (UNLIKELY(real_read == NULL))
        real_read = (rw_fn)real("read");
    if (UNLIKELY(fd == 0) && g_on)
        stdin_wait(site);
    HOT_CALL(C_READ, fd, site, buf, n, 1, real_read(fd, buf, n));
}

ssize_t traced_write(int fd, const void *buf, size_t n, uint64_t site)
{
    static wr_fn real_write;
    if (UNLIKELY(real_write == NULL))
        real_write = (wr_fn)real("write");
    HOT_CALL(C_WRITE, fd, site, buf, n, 0, real_write(fd, buf, n));
}

ssize_t read(int fd, void *buf, size_t n) { return traced_read(fd, buf, n, SITE); }
ssize_t write(int fd, const void *buf, size_t n) { return traced_write(fd, buf, n, SITE); }

ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
    REAL(ssize_t (*)(int, void *, size_t, size_t), __read_chk);
    if (n > buflen)
        return real___read_chk(fd, buf, n, buflen); /* the buffer overflow it exists to stop */
    return traced_read(fd, buf, n, SITE);
}

/* -- scatter and gather --------------------------------------------------------------------------------------- */

static size_t iov_total(const struct iovec *iov, int cnt)
{
    size_t n = 0;
    for (int i = 0; i < cnt && iov != NULL; i++)
        n += iov[i].iov_len;
    return n;
}

/* The first `limit` bytes of a vector, joined into `out`. */
static size_t iov_copy(char *out, const struct iovec *iov, int cnt, size_t limit)
{
    size_t done = 0;
    for (int i = 0; i < cnt && iov != NULL && done < limit; i++) {
        size_t take = iov[i].iov_len < limit - done ? iov[i].iov_len : limit - done;
        memcpy(out + done, iov[i].iov_base, take);
        done += take;
    }
    return done;
}

static inline uint32_t capped(size_t n) { return n < g_cap ? (uint32_t)n : g_cap; }

/* A data call's record flags: its bytes, cut at the cap; `flags` are a receive's (MSG_PEEK), 0 for a send. */
static inline uint32_t data_flags(size_t n, int flags)
{
    return F_DATA | (n > g_cap ? F_CAPPED : 0) | (flags & MSG_PEEK ? F_PEEK : 0);
}

/* Completes a data call's record: the byte count (or the error), a result blob, a receive's bytes; the caller
 * gets the call's value and errno as the call left them. */
static ssize_t data_end(struct head *h, ssize_t r, int err, const struct jb *post, const void *got, uint32_t got_len)
{
    rec_end(h, r < 0 ? 0 : r, r < 0 ? 0 : r, r < 0 ? err : 0, post != NULL && jb_ok(post) ? post->p : NULL,
            post != NULL && jb_ok(post) ? post->n : 0, got, got_len);
    errno = err;
    return r;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(ssize_t (*)(int, const struct iovec *, int), writev);
    UNRECORDED(real_writev(fd, iov, cnt));
    size_t n = iov_total(iov, cnt);
    struct head *h = rec_begin(C_WRITEV, fd, data_flags(n, 0), SITE, (int64_t)n, NULL, 0, 0, NULL, 0, capped(n));
    if (h != NULL)
        h->data_len = (uint32_t)iov_copy(rec_args(h), iov, cnt, capped(n));
    ssize_t r = real_writev(fd, iov, cnt);
    return data_end(h, r, errno, NULL, NULL, 0);
}

ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
    REAL(ssize_t (*)(int, const struct iovec *, int), readv);
    UNRECORDED(real_readv(fd, iov, cnt));
    size_t n = iov_total(iov, cnt);
    struct head *h = rec_begin(C_READV, fd, data_flags(n, 0), SITE, (int64_t)n, NULL, 0, 0, NULL, 0, capped(n));
    ssize_t r = real_readv(fd, iov, cnt);
    int err = errno;
    if (h != NULL && r > 0)
        h->data_len = (uint32_t)iov_copy(rec_args(h), iov, cnt, capped((size_t)r));
    return data_end(h, r, err, NULL, NULL, 0);
}

/* -- sockets ----------------------------------------------------------------------------------------------- */

#define POST 512

/* The argument blob of a call with flags: {"args":{"flags":N}}, or nothing without flags. */
static void flags_blob(struct jb *j, int flags)
{
    if (flags) {
        jb_raw(j, "{\"args\":{\"flags\":");
        jb_int(j, flags);
        jb_raw(j, "}}");
    }
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
    REAL(ssize_t (*)(int, const void *, size_t, int), send);
    if (LIKELY(flags == 0))
        HOT_CALL(C_SEND, fd, SITE, buf, n, 0, real_send(fd, buf, n, 0));
    JB(j, 64);
    flags_blob(&j, flags);
    struct head *h = rec_begin(C_SEND, fd, data_flags(n, 0), SITE, (int64_t)n, j.p, j.n, 0, buf, capped(n), 0);
    ssize_t r = real_send(fd, buf, n, flags);
    return data_end(h, r, errno, NULL, NULL, 0);
}

static ssize_t traced_recv(int fd, void *buf, size_t n, int flags, uint64_t site)
{
    REAL(ssize_t (*)(int, void *, size_t, int), recv);
    UNRECORDED(real_recv(fd, buf, n, flags));
    if (LIKELY(flags == 0))
        HOT_CALL(C_RECV, fd, site, buf, n, 1, real_recv(fd, buf, n, 0));
    JB(j, 64);
    flags_blob(&j, flags);
    struct head *h = rec_begin(C_RECV, fd, data_flags(n, flags), site, (int64_t)n, j.p, j.n, 0, NULL, 0, capped(n));
    ssize_t r = real_recv(fd, buf, n, flags);
    return data_end(h, r, errno, NULL, buf, r > 0 ? capped((size_t)r) : 0);
}

ssize_t recv(int fd, void *buf, size_t n, int flags) { return traced_recv(fd, buf, n, flags, SITE); }

ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
    REAL(ssize_t (*)(int, void *, size_t, size_t, int), __recv_chk);
    if (n > buflen)
        return real___recv_chk(fd, buf, n, buflen, flags);
    return traced_recv(fd, buf, n, flags, SITE);
}

ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
    REAL(ssize_t (*)(int, const void *, size_t, int, const struct sockaddr *, socklen_t), sendto);
    UNRECORDED(real_sendto(fd, buf, n, flags, to, tolen));
    JB(j, 256);
    jb_raw(&j, "{");
    if (to != NULL) {
        jb_key(&j, "peer");
        jb_addr(&j, to, tolen);
    }
    if (flags) {
        jb_key(&j, "args");
        jb_raw(&j, "{\"flags\":");
        jb_int(&j, flags);
        jb_raw(&j, "}");
    }
    jb_raw(&j, "}");
    struct head *h = rec_begin(C_SENDTO, fd, data_flags(n, 0), SITE, (int64_t)n, j.p, jb_ok(&j) ? j.n : 0, POST,
                               buf, capped(n), 0);
    ssize_t r = real_sendto(fd, buf, n, flags, to, tolen);
    int err = errno;
    if (h == NULL)
        return data_end(h, r, err, NULL, NULL, 0);
    JB(post, POST);
    jb_raw(&post, "{");
    if (r >= 0) {
        jb_key(&post, "local");
        jb_local(&post, fd, 0);
    }
    jb_raw(&post, "}");
    return data_end(h, r, err, &post, NULL, 0);
}

/* The peer a datagram came from and the receiving socket's own address, as the Python recorder keeps them. */
static void from_blob(struct jb *j, int fd, const struct sockaddr *from, socklen_t len)
{
    jb_raw(j, "{");
    if (from != NULL && len > 0) {
        jb_key(j, "peer");
        jb_addr(j, from, len);
        jb_key(j, "local");
        jb_local(j, fd, 0);
    }
    jb_raw(j, "}");
}

static ssize_t traced_recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen,
                               uint64_t site)
{
    REAL(ssize_t (*)(int, void *, size_t, int, struct sockaddr *, socklen_t *), recvfrom);
    UNRECORDED(real_recvfrom(fd, buf, n, flags, from, fromlen));
    JB(j, 64);
    flags_blob(&j, flags);
    struct head *h = rec_begin(C_RECVFROM, fd, data_flags(n, flags), site, (int64_t)n, j.p, j.n, POST, NULL, 0,
                               capped(n));
    struct sockaddr_storage own; /* where the sender's address goes when the caller asks for none */
    socklen_t own_len = sizeof(own);
    int mine = h != NULL && from == NULL;
    ssize_t r = real_recvfrom(fd, buf, n, flags, mine ? (struct sockaddr *)&own : from, mine ? &own_len : fromlen);
    int err = errno;
    if (h == NULL)
        return data_end(h, r, err, NULL, NULL, 0);
    JB(post, POST);
    const struct sockaddr *sa = mine ? (struct sockaddr *)&own : from;
    socklen_t len = r < 0 || sa == NULL ? 0 : mine ? own_len : fromlen != NULL ? *fromlen : 0;
    from_blob(&post, fd, sa, len);
    return data_end(h, r, err, &post, buf, r > 0 ? capped((size_t)r) : 0);
}

ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *from, socklen_t *fromlen)
{
    return traced_recvfrom(fd, buf, n, flags, from, fromlen, SITE);
}

ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *from,
                       socklen_t *fromlen)
{
    REAL(ssize_t (*)(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *), __recvfrom_chk);
    if (n > buflen)
        return real___recvfrom_chk(fd, buf, n, buflen, flags, from, fromlen);
    return traced_recvfrom(fd, buf, n, flags, from, fromlen, SITE);
}

/* -- messages, with the descriptors they pass (SCM_RIGHTS) --------------------------------------------------- */

static void passed_fds(struct jb *j, const struct msghdr *msg, int received)
{
    int count = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c != NULL; c = CMSG_NXTHDR((struct msghdr *)msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            count++;
    if (!count)
        return;
    for (int pass = 0; pass < 2; pass++) {
        jb_key(j, pass ? "passed" : "fds");
        jb_raw(j, "[");
        for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)msg); c != NULL;
             c = CMSG_NXTHDR((struct msghdr *)msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                continue;
            size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                if (received && !pass) {
                    ep_forget(fd);
                    ep_learn(fd, K_NONE);
                }
                if (j->p[j->n - 1] != '[')
                    jb_raw(j, ",");
                if (pass)
                    jb_ep(j, fd);
                else
                    jb_int(j, fd);
            }
        }
        jb_raw(j, "]");
    }
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    REAL(ssize_t (*)(int, const struct msghdr *, int), sendmsg);
    UNRECORDED(real_sendmsg(fd, msg, flags));
    size_t n = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
    char *args = NULL;
    JB(j, 1024);
    jb_raw(&j, "{");
    if (msg->msg_name != NULL && msg->msg_namelen) {
        jb_key(&j, "peer");
        jb_addr(&j, msg->msg_name, msg->msg_namelen);
    }
    jb_key(&j, "args");
    jb_raw(&j, "{");
    if (flags) {
        jb_key(&j, "flags");
        jb_int(&j, flags);
    }
    if (msg->msg_controllen)
        passed_fds(&j, msg, 0);
    jb_raw(&j, "}}");
    args = jb_ok(&j) ? j.p : NULL;
    struct head *h = rec_begin(C_SENDMSG, fd, data_flags(n, 0), SITE, (int64_t)n, args, args ? j.n : 0, POST, NULL,
                               0, capped(n));
    if (h != NULL)
        h->data_len = (uint32_t)iov_copy(rec_args(h) + h->args_len + POST, msg->msg_iov, (int)msg->msg_iovlen,
                                         capped(n));
    ssize_t r = real_sendmsg(fd, msg, flags);
    int err = errno;
    if (h == NULL)
        return data_end(h, r, err, NULL, NULL, 0);
    JB(post, POST);
    jb_raw(&post, "{");
    if (r >= 0 && msg->msg_name != NULL) {
        jb_key(&post, "local");
        jb_local(&post, fd, 0);
    }
    jb_raw(&post, "}");
    return data_end(h, r, err, &post, NULL, 0);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    REAL(ssize_t (*)(int, struct msghdr *, int), recvmsg);
    UNRECORDED(real_recvmsg(fd, msg, flags));
    size_t n = iov_total(msg->msg_iov, (int)msg->msg_iovlen);
    JB(j, 64);
    flags_blob(&j, flags);
    struct head *h = rec_begin(C_RECVMSG, fd, data_flags(n, flags), SITE, (int64_t)n, j.p, j.n, 2 * POST, NULL, 0,
                               capped(n));
    ssize_t r = real_recvmsg(fd, msg, flags);
    int err = errno;
    if (h == NULL)
        return data_end(h, r, err, NULL, NULL, 0);
    JB(post, 2 * POST);
    jb_raw(&post, "{");
    if (r >= 0 && msg->msg_name != NULL && msg->msg_namelen) {
        jb_key(&post, "peer");
        jb_addr(&post, msg->msg_name, msg->msg_namelen);
        jb_key(&post, "local");
        jb_local(&post, fd, 0);
    }
    if (r >= 0 && msg->msg_controllen) {
        uint32_t at = post.n;
        jb_key(&post, "args");
        jb_raw(&post, "{");
        uint32_t inner = post.n;
        passed_fds(&post, msg, 1);
        if (post.n == inner)
            post.n = at; /* no descriptors came */
        else
            jb_raw(&post, "}");
    }
    jb_raw(&post, "}");
    if (r > 0)
        h->data_len = (uint32_t)iov_copy(rec_args(h) + h->args_len + h->post_cap, msg->msg_iov, (int)msg->msg_iovlen,
                                         capped((size_t)r));
    return data_end(h, r, err, &post, NULL, 0);
}
