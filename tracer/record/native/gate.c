/* The explorer's gate in a C process: held before each visible call until the controller says go.
 *
 * It speaks record/gate.py's line protocol (that docstring is the reference), so `ipctrace explore` and
 * `run --schedule` drive C programs exactly as they drive Python ones: `H <pid> <ppid> <path>` once a
 * process, `G <call> <fd> <mode> <ino> <w> <forks> <open>` at each gate, answers to `R in|out|child`, then
 * `G` (go) or `F` (free); `R wait` (a held select/poll) is answered "may go": the native select/poll wrappers
 * do not tell the gate their descriptors yet. A forked child connects on its first gate with its own connection; under the
 * explorer every sleep is virtual (a point where others may run, then it returns at once). With
 * IPCTRACE_EXPLORE_ZYGOTE the process first serves as the explorer's fork server, as gate.py's does: each
 * run is a fork taken before main, recording into the folder the controller names.
 *
 * Not exploring costs nothing: g_on is 1 and the hot path's one test (`g_on != ON_RECORD`) is the test it
 * made before. Everything here uses system calls directly (never the wrapped libc names), holds its socket
 * on a descriptor far above the program's, close-on-exec, so the program's descriptor numbers do not move.
 */
#include "ipctrace.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

HIDDEN int g_virtual_time;

static struct sockaddr_un g_addr;
static socklen_t g_addr_len;
static uint64_t g_visible[2]; /* call ids below 128, one bit each (IPCTRACE_EXPLORE_CALLS) */
static char g_path[512] = "main";
static int g_sock = -1; /* the connection of the process g_sock_pid */
static int g_sock_pid = -1;
static unsigned g_children; /* forks made so far: the next child is path.<children+1> */
static unsigned g_forks;    /* forks made since the last gate (the controller waits for their connections) */
static int g_busy;
static int g_fd; /* the held call's descriptor, for `R in|out` */
static char g_buf[4352]; /* what the controller sent and was not read yet */
static size_t g_buf_n;

/* -- small helpers, all on system calls ------------------------------------------------------------------ */

static size_t put_int(char *out, int64_t v)
{
    if (v < 0) {
        out[0] = '-';
        return 1 + put_num(out + 1, (uint64_t)-v);
    }
    return put_num(out, (uint64_t)v);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        long r = syscall(SYS_sendto, fd, p, n, MSG_NOSIGNAL, NULL, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int g_passed = -1; /* a descriptor passed with the fork server's `N` line (SCM_RIGHTS) */

/* The next line from `fd` into `line` (without its newline); -1 at end of file or an error. */
static int read_line(int fd, char *line, size_t size)
{
    for (;;) {
        char *nl = memchr(g_buf, '\n', g_buf_n);
        if (nl != NULL) {
            size_t n = (size_t)(nl - g_buf);
            size_t keep = n < size - 1 ? n : size - 1;
            memcpy(line, g_buf, keep);
            line[keep] = '\0';
            g_buf_n -= n + 1;
            memmove(g_buf, nl + 1, g_buf_n);
            return 0;
        }
        if (g_buf_n == sizeof(g_buf))
            g_buf_n = 0; /* a line longer than any the controller sends: dropped */
        struct iovec iov = {g_buf + g_buf_n, sizeof(g_buf) - g_buf_n};
        union {
            struct cmsghdr h;
            char space[CMSG_SPACE(sizeof(int))];
        } control;
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)};
        long r = syscall(SYS_recvmsg, fd, &msg, MSG_CMSG_CLOEXEC);
        for (struct cmsghdr *c = r > 0 ? CMSG_FIRSTHDR(&msg) : NULL; c != NULL; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(sizeof(int)))
                memcpy(&g_passed, CMSG_DATA(c), sizeof(int));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        g_buf_n += (size_t)r;
    }
}

/* A connected Unix stream socket to the controller, moved far above the program's descriptors. */
static int dial(void)
{
    int s = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -1;
    long r;
    while ((r = syscall(SYS_connect, s, (struct sockaddr *)&g_addr, g_addr_len)) < 0 && errno == EINTR)
        ;
    if (r < 0) {
        syscall(SYS_close, s);
        return -1;
    }
    struct rlimit lim;
    if (syscall(SYS_getrlimit, RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur > 64) {
        rlim_t floor = lim.rlim_cur - 8;
        int high = (int)syscall(SYS_fcntl, s, F_DUPFD_CLOEXEC, (long)(floor > 1 << 20 ? 1 << 20 : floor));
        if (high >= 0) {
            syscall(SYS_close, s);
            s = high;
        }
    }
    return s;
}

static void describe(int fd, uint32_t *mode, uint64_t *ino)
{
    struct stat st;
    *mode = 0;
    *ino = 0;
    if (fd >= 0 && syscall(SYS_fstat, fd, &st) == 0) {
        *mode = st.st_mode;
        *ino = st.st_ino;
    }
}

static int writing(int fd)
{
    long fl = syscall(SYS_fcntl, fd, F_GETFL);
    return fl >= 0 && (fl & O_ACCMODE) != O_RDONLY;
}

struct linux_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* The pipes and sockets this process holds, `p<ino>r|w` and `s<ino>` joined by commas ('-' for none). */
static void open_channels(struct jb *out)
{
    uint32_t start = out->n;
    int dir = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
        char ents[4096];
        long got;
        while ((got = syscall(SYS_getdents64, dir, ents, sizeof(ents))) > 0) {
            for (long at = 0; at < got;) {
                struct linux_dirent64 *d = (struct linux_dirent64 *)(ents + at);
                at += d->d_reclen;
                int fd = (int)strtol(d->d_name, NULL, 10);
                if (d->d_name[0] < '0' || d->d_name[0] > '9' || fd == g_sock || fd == dir)
                    continue;
                uint32_t mode;
                uint64_t ino;
                describe(fd, &mode, &ino);
                if (!S_ISFIFO(mode) && !S_ISSOCK(mode))
                    continue;
                char item[32];
                size_t k = 0;
                item[k++] = S_ISFIFO(mode) ? 'p' : 's';
                k += put_num(item + k, ino);
                if (S_ISFIFO(mode))
                    item[k++] = writing(fd) ? 'w' : 'r';
                item[k] = '\0';
                if (out->n > start)
                    jb_raw(out, ",");
                jb_raw(out, item);
            }
        }
        syscall(SYS_close, dir);
    }
    if (out->n == start)
        jb_raw(out, "-");
}

/* -- the protocol ---------------------------------------------------------------------------------------- */

static int connect_here(int pid)
{
    if (g_sock >= 0) { /* the parent's connection, inherited by fork: the parent keeps its own */
        syscall(SYS_close, g_sock);
        size_t n = strlen(g_path);
        char number[24];
        number[put_num(number, g_children + 1)] = '\0'; /* the count as it was before this fork */
        if (n + strlen(number) + 2 < sizeof(g_path)) {
            g_path[n] = '.';
            strcpy(g_path + n + 1, number);
        }
        g_children = 0;
    }
    g_sock = -1;
    g_sock_pid = pid;
    g_forks = 0;
    g_buf_n = 0;
    int s = dial();
    if (s < 0)
        return -1;
    g_sock = s;
    char hello[640];
    size_t k = 0;
    memcpy(hello, "H ", 2), k = 2;
    k += put_num(hello + k, (uint64_t)pid);
    hello[k++] = ' ';
    k += put_num(hello + k, (uint64_t)syscall(SYS_getppid));
    hello[k++] = ' ';
    size_t p = strlen(g_path);
    memcpy(hello + k, g_path, p);
    k += p;
    hello[k++] = '\n';
    return send_all(s, hello, k);
}

/* `R in|out|child`: would the held call run without waiting for another process? `0`, `1`, `d` (data). */
static char ready(const char *check)
{
    if (strcmp(check, "child") == 0) {
        siginfo_t info;
        memset(&info, 0, sizeof(info));
        if (syscall(SYS_waitid, P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT, NULL) < 0)
            return '1'; /* no child: the wait fails at once */
        return info.si_pid != 0 ? '1' : '0';
    }
    if (strcmp(check, "wait") == 0)
        return '1'; /* a select/poll: its wrapper does not tell the gate its descriptors yet, so it may go */
    struct pollfd p = {g_fd, strcmp(check, "in") == 0 ? POLLIN : POLLOUT, 0};
    struct timespec zero = {0, 0};
    if (syscall(SYS_ppoll, &p, 1, &zero, NULL, sizeof(sigset_t)) <= 0)
        return '0';
    return p.revents & POLLIN ? 'd' : '1';
}

static int hold(uint16_t call, int fd)
{
    int pid = (int)syscall(SYS_getpid);
    if (pid != g_sock_pid && connect_here(pid) < 0)
        return -1;
    uint32_t mode;
    uint64_t ino;
    describe(fd, &mode, &ino);
    g_fd = fd;
    JB(m, 8192);
    jb_raw(&m, "G ");
    char num[24];
    num[put_int(num, call)] = '\0';
    jb_raw(&m, num);
    jb_raw(&m, " ");
    num[put_int(num, fd)] = '\0';
    jb_raw(&m, num);
    jb_raw(&m, " ");
    num[put_num(num, mode)] = '\0';
    jb_raw(&m, num);
    jb_raw(&m, " ");
    num[put_num(num, ino)] = '\0';
    jb_raw(&m, num);
    int type = 0;
    socklen_t type_len = sizeof(type);
    int datagram = S_ISSOCK(mode) && syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &type_len) == 0 &&
                   type == SOCK_DGRAM;
    jb_raw(&m, S_ISFIFO(mode) && writing(fd) ? " 1 " : datagram ? " 2 " : " 0 ");
    num[put_num(num, g_forks)] = '\0';
    jb_raw(&m, num);
    jb_raw(&m, " ");
    uint32_t before = m.n;
    if (call == C_FORK || call == C_EXIT)
        open_channels(&m);
    else
        jb_raw(&m, "-");
    if (!jb_ok(&m)) { /* more descriptors than the line holds: say none, as a process that holds none */
        m.n = before;
        jb_raw(&m, "-");
    }
    jb_raw(&m, "\n");
    if (send_all(g_sock, m.p, m.n) < 0)
        return -1;
    g_forks = 0;
    for (;;) {
        char line[64];
        if (read_line(g_sock, line, sizeof(line)) < 0)
            return -1;
        if (strcmp(line, "G") == 0)
            return 0;
        if (strcmp(line, "F") == 0) {
            g_on = ON_RECORD; /* free: no more gates in this process (nor in what it forks from now on) */
            return 0;
        }
        if (line[0] == 'R' && line[1] == ' ') {
            char answer[2] = {ready(line + 2), '\n'};
            if (send_all(g_sock, answer, 2) < 0)
                return -1;
        }
    }
}

void gate(uint16_t call, int fd)
{
    if (call >= 128 || !((g_visible[call >> 6] >> (call & 63)) & 1))
        return;
    if (__atomic_exchange_n(&g_busy, 1, __ATOMIC_ACQUIRE))
        return; /* a signal handler's call inside a gate, or a second thread: it runs ungated */
    int saved = errno;
    if (hold(call, fd) < 0)
        g_on = ON_RECORD; /* the controller is gone: run on as a plain traced program */
    errno = saved;
    __atomic_store_n(&g_busy, 0, __ATOMIC_RELEASE);
}

void gate_forked(pid_t pid)
{
    if (pid > 0 && (int)syscall(SYS_getpid) == g_sock_pid) {
        g_forks++;
        g_children++;
    }
}

/* -- the fork server -------------------------------------------------------------------------------------- */

static void reap(void)
{
    int status;
    while (syscall(SYS_wait4, -1, &status, WNOHANG, NULL) > 0)
        ;
}

/* The fork server's loop: `N <folder>` makes one run's process, answered `P <pid>`; returns in that process
 * with the folder its recording goes to (in `folder`). */
static int serve_forks(char *folder, size_t size)
{
    pid_t (*fork_fn)(void) = (pid_t(*)(void))dlsym(RTLD_NEXT, "fork");
    int s = dial();
    if (s < 0 || fork_fn == NULL)
        return -1;
    char line[4352];
    size_t k = 0;
    memcpy(line, "Z ", 2), k = 2;
    k += put_num(line + k, (uint64_t)syscall(SYS_getpid));
    line[k++] = '\n';
    if (send_all(s, line, k) < 0)
        return -1;
    for (;;) {
        if (read_line(s, line, sizeof(line)) < 0)
            syscall(SYS_exit_group, 0);
        reap();
        pid_t pid = fork_fn();
        if (pid == 0) {
            syscall(SYS_close, s);
            syscall(SYS_setpgid, 0, 0); /* the run is its own process group: stopping it leaves the server */
            g_buf_n = 0;
            if (g_passed >= 0) { /* the pipe the explorer types a scripted role's lines into: its stdin */
                syscall(SYS_dup2, g_passed, 0);
                syscall(SYS_close, g_passed);
                g_passed = -1;
            }
            size_t n = strlen(line + 2);
            if (n >= size)
                return -1;
            memcpy(folder, line + 2, n + 1);
            return 0;
        }
        if (g_passed >= 0) {
            syscall(SYS_close, g_passed);
            g_passed = -1;
        }
        k = 0;
        memcpy(line, "P ", 2), k = 2;
        k += put_int(line + k, pid);
        line[k++] = '\n';
        if (send_all(s, line, k) < 0)
            syscall(SYS_exit_group, 0);
    }
}

int gate_setup(void)
{
    const char *address = getenv("IPCTRACE_EXPLORE");
    if (address == NULL || !*address || strlen(address) >= sizeof(g_addr.sun_path))
        return 0;
    const char *calls = getenv("IPCTRACE_EXPLORE_CALLS");
    for (const char *c = calls ? calls : ""; *c;) {
        char *end;
        long id = strtol(c, &end, 10);
        if (end == c || (*end && *end != ','))
            return 0; /* not the explorer's list: no gate, as gate.py */
        if (id >= 0 && id < 128)
            g_visible[id >> 6] |= 1ULL << (id & 63);
        c = *end ? end + 1 : end;
    }
    g_addr.sun_family = AF_UNIX;
    strcpy(g_addr.sun_path, address);
    g_addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(address) + 1);
    const char *path = getenv("IPCTRACE_EXPLORE_PATH");
    if (path != NULL && *path && strlen(path) < sizeof(g_path))
        strcpy(g_path, path);
    if (getenv("IPCTRACE_EXPLORE_ZYGOTE") != NULL) {
        unsetenv("IPCTRACE_EXPLORE_ZYGOTE");
        char folder[3072];
        if (serve_forks(folder, sizeof(folder)) < 0)
            return 0;
        syscall(SYS_mkdirat, AT_FDCWD, folder, 0755);
        setenv("IPCTRACE_LOGS", folder, 1); /* this run's recording, and what it starts */
        log_setup();
        if (!g_on)
            return 0; /* a folder the recorder cannot use: the run goes unrecorded and ungated */
    }
    g_virtual_time = 1;
    g_on = ON_GATED;
    return 1;
}
