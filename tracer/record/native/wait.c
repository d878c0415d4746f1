/* Waiting for time or for descriptors: sleep, usleep, nanosleep, clock_nanosleep (all `sleep`, in seconds, as
 * Python's time.sleep is recorded), select and pselect, poll and ppoll, epoll_wait and epoll_pwait.
 *
 * A readiness wait that includes the standard input writes the stdin-wait marker first, so a scripted
 * session gives the program its next line exactly as it does for a blocking read.
 */
#include "ipctrace.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

/* -- sleeps ---------------------------------------------------------------------------------------------------- */

static struct head *sleep_begin(int64_t ns, uint64_t site)
{
    JB(a, 64);
    jb_raw(&a, "{\"args\":{\"seconds\":");
    jb_secs(&a, ns);
    jb_raw(&a, "}}");
    return rec_begin(C_SLEEP, -1, 0, site, 0, a.p, a.n, 0, NULL, 0, 0);
}

/* Under the explorer (gate.c) a sleep returns at once, failing only where the real one would fail at once. */
static int virtual_sleep(const struct timespec *req)
{
    if (req == NULL) {
        errno = EFAULT;
        return -1;
    }
    if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1000000000) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* The body of a sleep wrapper: the real `call` (its stand-in `virtual` under the explorer) inside a record of
 * `ns` nanoseconds; `failed` is the error recorded, read from the call's value `r` and the errno `err` it left.
 * SITE is the wrapper's own return address, so this stays a macro. */
#define SLEEP_BODY(type, name, call, ns, virtual, failed) \
    REAL(type, name); \
    UNRECORDED(call); \
    struct head *h = sleep_begin(ns, SITE); \
    __typeof__(call) r = g_virtual_time ? (virtual) : (call); \
    int err = errno; \
    rec_end(h, 0, 0, failed, NULL, 0, NULL, 0); \
    errno = err; \
    return r

unsigned sleep(unsigned seconds)
{
    /* r: the seconds left, when a signal ended it early */
    SLEEP_BODY(unsigned (*)(unsigned), sleep, real_sleep(seconds), (int64_t)seconds * 1000000000, 0, r ? EINTR : 0);
}

int usleep(useconds_t us)
{
    SLEEP_BODY(int (*)(useconds_t), usleep, real_usleep(us), (int64_t)us * 1000, 0, r ? err : 0);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    SLEEP_BODY(int (*)(const struct timespec *, struct timespec *), nanosleep, real_nanosleep(req, rem),
               req ? (int64_t)req->tv_sec * 1000000000 + req->tv_nsec : 0, virtual_sleep(req), r ? err : 0);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
    REAL(int (*)(clockid_t, int, const struct timespec *, struct timespec *), clock_nanosleep);
    UNRECORDED(real_clock_nanosleep(clock, flags, req, rem));
    int64_t ns = req ? (int64_t)req->tv_sec * 1000000000 + req->tv_nsec : 0;
    if (flags & TIMER_ABSTIME) { /* until a moment: recorded as the time left to it */
        struct timespec now;
        clock_gettime(clock, &now);
        ns -= (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    }
    struct head *h = sleep_begin(ns, SITE);
    int r;
    if (g_virtual_time) {
        int saved = errno;
        r = virtual_sleep(req) < 0 ? errno : 0; /* returns the error, errno untouched */
        errno = saved;
    } else {
        r = real_clock_nanosleep(clock, flags, req, rem);
    }
    rec_end(h, 0, 0, r, NULL, 0, NULL, 0);
    return r;
}

/* -- readiness ---------------------------------------------------------------------------------------------- */

#define POST 1024

/* Completes a readiness wait's record: how many were ready (or the error) and which, from `post`. */
static int ready_end(struct head *h, int got, int err, const struct jb *post)
{
    int ok = got >= 0 && jb_ok(post);
    rec_end(h, got < 0 ? 0 : got, 0, got < 0 ? err : 0, ok ? post->p : NULL, ok ? post->n : 0, NULL, 0);
    errno = err;
    return got;
}

static void fd_set_json(struct jb *j, const fd_set *set, int n)
{
    if (set == NULL) {
        jb_raw(j, "[]");
        return;
    }
    jb_raw(j, "[");
    for (int fd = 0; fd < n && fd < FD_SETSIZE; fd++) {
        if (FD_ISSET(fd, set)) {
            if (j->p[j->n - 1] != '[')
                jb_raw(j, ",");
            jb_int(j, fd);
        }
    }
    jb_raw(j, "]");
}

static int traced_select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv, const struct timespec *ts,
                         const sigset_t *mask, uint64_t site)
{
    REAL(int (*)(int, fd_set *, fd_set *, fd_set *, struct timeval *), select);
    REAL(int (*)(int, fd_set *, fd_set *, fd_set *, const struct timespec *, const sigset_t *), pselect);
    UNRECORDED(mask != NULL || ts != NULL ? real_pselect(n, r, w, x, ts, mask) : real_select(n, r, w, x, tv));
    if (g_on && r != NULL && n > 0 && FD_ISSET(0, r))
        stdin_wait(site);
    JB(a, POST);
    jb_raw(&a, "{\"args\":{\"r\":");
    fd_set_json(&a, r, n);
    jb_raw(&a, ",\"w\":");
    fd_set_json(&a, w, n);
    jb_raw(&a, ",\"x\":");
    fd_set_json(&a, x, n);
    jb_raw(&a, ",\"timeout\":");
    if (tv != NULL)
        jb_secs(&a, (int64_t)tv->tv_sec * 1000000000 + (int64_t)tv->tv_usec * 1000);
    else if (ts != NULL)
        jb_secs(&a, (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec);
    else
        jb_raw(&a, "null");
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_SELECT, -1, 0, site, 0, a.p, jb_ok(&a) ? a.n : 0, POST, NULL, 0, 0);
    int got = mask != NULL || ts != NULL ? real_pselect(n, r, w, x, ts, mask) : real_select(n, r, w, x, tv);
    int err = errno;
    JB(post, POST);
    if (got >= 0) {
        jb_raw(&post, "{\"res\":[");
        fd_set_json(&post, r, n);
        jb_raw(&post, ",");
        fd_set_json(&post, w, n);
        jb_raw(&post, ",");
        fd_set_json(&post, x, n);
        jb_raw(&post, "]}");
    }
    return ready_end(h, got, err, &post);
}

int select(int n, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
    return traced_select(n, r, w, x, tv, NULL, NULL, SITE);
}

int pselect(int n, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts, const sigset_t *mask)
{
    return traced_select(n, r, w, x, NULL, ts, mask, SITE); /* both NULL: select's own meaning */
}

/* A timespec in milliseconds (poll's unit), written by jb_secs: the number of milliseconds as a float. */
static int64_t ms_as_ns(const struct timespec *ts)
{
    int64_t ms_ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec; /* nanoseconds ... */
    return ms_ns > INT64_MAX / 1000 ? INT64_MAX / 1000 * 1000 : ms_ns * 1000; /* ... read as milliseconds */
}

static int traced_poll(struct pollfd *fds, nfds_t n, int timeout_ms, const struct timespec *ts, const sigset_t *mask,
                       int p, uint64_t site)
{
    REAL(int (*)(struct pollfd *, nfds_t, int), poll);
    REAL(int (*)(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *), ppoll);
    UNRECORDED(p ? real_ppoll(fds, n, ts, mask) : real_poll(fds, n, timeout_ms));
    JB(a, POST);
    jb_raw(&a, "{\"args\":{\"fds\":[");
    int stdin_read = 0;
    for (nfds_t i = 0; i < n; i++) {
        if (i)
            jb_raw(&a, ",");
        jb_int(&a, fds[i].fd);
        stdin_read |= fds[i].fd == 0 && (fds[i].events & POLLIN);
    }
    jb_raw(&a, "],\"timeout\":");
    if (p)
        ts != NULL ? jb_secs(&a, ms_as_ns(ts)) : jb_raw(&a, "null");
    else
        timeout_ms >= 0 ? jb_secs(&a, (int64_t)timeout_ms * 1000000000) : jb_raw(&a, "null"); /* milliseconds */
    jb_raw(&a, "}}");
    if (g_on && stdin_read)
        stdin_wait(site);
    struct head *h = rec_begin(C_POLL, -1, 0, site, 0, a.p, jb_ok(&a) ? a.n : 0, POST, NULL, 0, 0);
    int got = p ? real_ppoll(fds, n, ts, mask) : real_poll(fds, n, timeout_ms);
    int err = errno;
    JB(post, POST);
    jb_raw(&post, "{\"res\":[");
    for (nfds_t i = 0; got > 0 && i < n; i++) {
        if (!fds[i].revents)
            continue;
        if (post.p[post.n - 1] != '[')
            jb_raw(&post, ",");
        jb_raw(&post, "[");
        jb_int(&post, fds[i].fd);
        jb_raw(&post, ",");
        jb_int(&post, fds[i].revents);
        jb_raw(&post, "]");
    }
    jb_raw(&post, "]}");
    return ready_end(h, got, err, &post);
}

int poll(struct pollfd *fds, nfds_t n, int timeout) { return traced_poll(fds, n, timeout, NULL, NULL, 0, SITE); }

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
    return traced_poll(fds, n, -1, ts, mask, 1, SITE);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
    REAL(int (*)(struct pollfd *, nfds_t, int, size_t), __poll_chk);
    if (fdslen / sizeof(*fds) < n)
        return real___poll_chk(fds, n, timeout, fdslen);
    return traced_poll(fds, n, timeout, NULL, NULL, 0, SITE);
}

static int traced_epoll(int epfd, struct epoll_event *events, int max, int timeout, const sigset_t *mask, int p,
                        uint64_t site)
{
    REAL(int (*)(int, struct epoll_event *, int, int), epoll_wait);
    REAL(int (*)(int, struct epoll_event *, int, int, const sigset_t *), epoll_pwait);
    UNRECORDED(p ? real_epoll_pwait(epfd, events, max, timeout, mask) : real_epoll_wait(epfd, events, max, timeout));
    JB(a, 96);
    jb_raw(&a, "{\"args\":{\"epfd\":");
    jb_int(&a, epfd);
    jb_raw(&a, ",\"timeout\":"); /* in seconds, as Python's epoll.poll takes it */
    timeout >= 0 ? jb_secs(&a, (int64_t)timeout * 1000000) : jb_raw(&a, "null");
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_EPOLL_WAIT, -1, 0, site, 0, a.p, a.n, POST, NULL, 0, 0);
    int got = p ? real_epoll_pwait(epfd, events, max, timeout, mask) : real_epoll_wait(epfd, events, max, timeout);
    int err = errno;
    JB(post, POST);
    jb_raw(&post, "{\"res\":[");
    for (int i = 0; i < got; i++) { /* the registered data, as a descriptor: what programs put there */
        if (i)
            jb_raw(&post, ",");
        jb_raw(&post, "[");
        jb_int(&post, events[i].data.fd);
        jb_raw(&post, ",");
        jb_int(&post, events[i].events);
        jb_raw(&post, "]");
    }
    jb_raw(&post, "]}");
    return ready_end(h, got, err, &post);
}

int epoll_wait(int epfd, struct epoll_event *events, int max, int timeout)
{
    return traced_epoll(epfd, events, max, timeout, NULL, 0, SITE);
}

int epoll_pwait(int epfd, struct epoll_event *events, int max, int timeout, const sigset_t *mask)
{
    return traced_epoll(epfd, events, max, timeout, mask, 1, SITE);
}
