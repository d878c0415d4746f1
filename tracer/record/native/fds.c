/* The descriptor table: what kernel object each fd number names, without a system call per event.
 *
 * Every creation, dup and close the recorder wraps updates the table; a number it has never seen costs one
 * fstat (and, for a socket, its family and type; for a FIFO, a readlink that tells it from a pipe). The
 * closes libc makes behind the program's back that the recorder can see (fclose, pclose, freopen) forget
 * their descriptor too. The table is process-wide, copied by fork, and starts empty after exec.
 */
#include "ipctrace.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ioctl.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

struct ep g_table[TABLE_SIZE]; /* in .bss: only the pages of used numbers are ever touched */
#define table g_table
static const struct ep none;
static __thread struct ep beyond __attribute__((tls_model("initial-exec"))); /* a number past the table */

static int lookup_kind(int fd, const struct stat *st)
{
    if (S_ISFIFO(st->st_mode)) {
        char path[32] = "/proc/self/fd/", link[8];
        path[14 + put_num(path + 14, (uint64_t)fd)] = '\0';
        long n = syscall(SYS_readlinkat, AT_FDCWD, path, link, sizeof(link));
        return n >= 5 && memcmp(link, "pipe:", 5) == 0 ? K_PIPE : K_FIFO;
    }
    if (S_ISSOCK(st->st_mode)) {
        int domain = 0, type = 0;
        socklen_t len = sizeof(int);
        if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0)
            return K_SOCKET;
        len = sizeof(int);
        if (syscall(SYS_getsockopt, fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
            return K_SOCKET;
        return socket_kind(domain, type);
    }
    if (S_ISREG(st->st_mode))
        return K_FILE;
    if (S_ISDIR(st->st_mode))
        return K_DIR;
    if (S_ISCHR(st->st_mode)) {
        struct termios tio;
        return syscall(SYS_ioctl, fd, TCGETS, &tio) == 0 ? K_TTY : K_CHAR;
    }
    return K_OTHER;
}

static void fill(struct ep *e, int fd, int kind)
{
    struct stat st;
    int saved = errno;
    e->valid = 0;
    if (syscall(SYS_fstat, fd, &st) != 0) {
        errno = saved;
        return; /* closed or not a descriptor: nothing to name */
    }
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->kind = (uint8_t)(kind ? kind : lookup_kind(fd, &st));
    __atomic_store_n(&e->valid, 1, __ATOMIC_RELEASE);
    errno = saved;
}

const struct ep *ep_lookup(int fd)
{
    if (LIKELY(fd >= 0 && fd < TABLE_SIZE)) {
        struct ep *e = &table[fd];
        if (__atomic_load_n(&e->valid, __ATOMIC_ACQUIRE))
            return e;
        fill(e, fd, K_NONE);
        return e->valid ? e : &none;
    }
    if (fd < 0)
        return &none;
    fill(&beyond, fd, K_NONE);
    return beyond.valid ? &beyond : &none;
}

void ep_forget(int fd)
{
    if (fd >= 0 && fd < TABLE_SIZE)
        __atomic_store_n(&table[fd].valid, 0, __ATOMIC_RELEASE);
}

void ep_learn(int fd, int kind)
{
    if (fd >= 0 && fd < TABLE_SIZE)
        fill(&table[fd], fd, kind);
}

void ep_copy(int from, int to)
{
    if (to < 0 || to >= TABLE_SIZE || from == to)
        return;
    const struct ep *e = ep_of(from);
    if (!e->valid) {
        ep_learn(to, K_NONE);
        return;
    }
    table[to].valid = 0;
    table[to].dev = e->dev;
    table[to].ino = e->ino;
    table[to].kind = e->kind;
    __atomic_store_n(&table[to].valid, 1, __ATOMIC_RELEASE);
}

void ep_forget_range(unsigned lo, unsigned hi)
{
    for (unsigned fd = lo; fd <= hi && fd < TABLE_SIZE; fd++)
        ep_forget((int)fd);
}

int socket_kind(int domain, int type)
{
    type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (domain == AF_UNIX)
        return type == SOCK_STREAM ? K_UNIX_STREAM : type == SOCK_DGRAM ? K_UNIX_DGRAM : K_UNIX_SEQPACKET;
    if (domain == AF_INET || domain == AF_INET6) {
        int six = domain == AF_INET6;
        if (type == SOCK_STREAM)
            return six ? K_TCP6 : K_TCP;
        if (type == SOCK_DGRAM)
            return six ? K_UDP6 : K_UDP;
    }
    return K_SOCKET;
}

const char *kind_name(int kind)
{
    static const char *const names[] = {"",    "pipe", "unix-stream", "unix-dgram", "unix-seqpacket", "tcp",
                                        "udp", "tcp6", "udp6",        "socket",     "file",           "tty",
                                        "char", "other", "fifo",      "dir"};
    return kind >= 0 && kind < (int)(sizeof(names) / sizeof(names[0])) ? names[kind] : "other";
}

/* -- addresses as JSON -------------------------------------------------------------------------------------- */

void jb_addr(struct jb *j, const struct sockaddr *sa, socklen_t len)
{
    char host[INET6_ADDRSTRLEN];
    if (sa == NULL || len < sizeof(sa_family_t)) {
        jb_raw(j, "null");
    } else if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        jb_raw(j, "[");
        jb_str(j, host, strlen(host));
        jb_raw(j, ",");
        jb_int(j, ntohs(in->sin_port));
        jb_raw(j, "]");
    } else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        jb_raw(j, "[");
        jb_str(j, host, strlen(host));
        jb_raw(j, ",");
        jb_int(j, ntohs(in6->sin6_port));
        jb_raw(j, "]");
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
        if (n > sizeof(un->sun_path))
            n = sizeof(un->sun_path);
        if (n > 0 && un->sun_path[0] == '\0') { /* the abstract namespace, shown as Python shows it: @name */
            char name[sizeof(un->sun_path) + 1] = "@";
            memcpy(name + 1, un->sun_path + 1, n - 1);
            jb_str(j, name, n);
        } else {
            jb_str(j, un->sun_path, strnlen(un->sun_path, n));
        }
    } else {
        jb_raw(j, "null");
    }
}

void jb_ep(struct jb *j, int fd)
{
    const struct ep *e = ep_of(fd);
    if (!e->valid) {
        jb_raw(j, "null");
        return;
    }
    jb_raw(j, "[");
    jb_int(j, (int64_t)e->dev);
    jb_raw(j, ",");
    jb_int(j, (int64_t)e->ino);
    jb_raw(j, ",\"");
    jb_raw(j, kind_name(e->kind));
    jb_raw(j, "\"]");
}

/* A UDP socket's local address is asked once and kept (keyed by fd and inode), so a stream of datagrams
 * costs no getsockname each; anything else, or an address too long to keep, is asked every time. */
struct local {
    int fd;
    uint64_t ino;
    uint8_t len;
    char json[62];
};
static struct local locals[64];

void jb_local(struct jb *j, int fd, int refresh)
{
    const struct ep *e = ep_of(fd);
    int udp = e->valid && (e->kind == K_UDP || e->kind == K_UDP6);
    struct local *slot = &locals[(unsigned)fd % 64];
    if (udp && !refresh && slot->fd == fd && slot->ino == e->ino && slot->len) {
        if (j->n + slot->len < j->cap) {
            memcpy(j->p + j->n, slot->json, slot->len);
            j->n += slot->len;
        }
        return;
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int saved = errno;
    if (syscall(SYS_getsockname, fd, &ss, &len) != 0) {
        errno = saved;
        jb_raw(j, "null");
        return;
    }
    uint32_t at = j->n;
    jb_addr(j, (struct sockaddr *)&ss, len);
    const struct sockaddr_in *in = (const struct sockaddr_in *)&ss;
    int bound = ss.ss_family != AF_INET || in->sin_port != 0;
    if (udp && bound && jb_ok(j) && j->n - at < sizeof(slot->json)) {
        slot->len = 0;
        memcpy(slot->json, j->p + at, j->n - at);
        slot->fd = fd;
        slot->ino = e->ino;
        slot->len = (uint8_t)(j->n - at);
    }
}
