/* Per-thread memory-mapped logs (FORMAT.md): files, chunk reservations, records begun and completed.
 *
 * Each thread writes only its own file, through a cursor in thread-local storage. The cursor is advanced with a
 * compare-and-swap, a single instruction, so a signal handler that records while a call is in progress reserves
 * after it. The file's descriptor is closed again as soon as it is mapped (or a chunk reserved); every store
 * goes to the page cache at once, so a SIGKILL loses nothing written before it.
 */
#include "ipctrace.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FILE_SIZE (1ULL << 30)
#define FIRST_CHUNK (64u << 10)
#define MAX_CHUNK (4u << 20)
#define HEADER_SIZE 64
#define SKIPPED_AT 48
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

HIDDEN int g_on;
HIDDEN uint32_t g_cap = 4096;
HIDDEN int g_pid;
static char g_dir[3072];

__thread struct tlog tl __attribute__((tls_model("initial-exec")));
__thread struct inside g_inside __attribute__((tls_model("initial-exec")));

void *real(const char *name)
{
    void *fn = dlsym(RTLD_NEXT, name);
    if (fn == NULL) {
        static const char msg[] = "ipctrace: the native recorder found no libc function to call; aborting.\n";
        syscall(SYS_write, 2, msg, sizeof(msg) - 1);
        abort();
    }
    return fn;
}

int sys_close(int fd) { return (int)syscall(SYS_close, fd); }

/* -- files ----------------------------------------------------------------------------------------------------- */

static void log_path(char *out, size_t size, int tid, uint32_t n)
{
    size_t dir = strlen(g_dir);
    if (dir + 80 > size) {
        out[0] = '\0';
        return;
    }
    memcpy(out, g_dir, dir);
    char *p = out + dir;
    *p++ = '/';
    p += put_num(p, (uint64_t)g_pid);
    *p++ = '-';
    p += put_num(p, (uint64_t)tid);
    *p++ = '-';
    p += put_num(p, n);
    memcpy(p, ".ipclog", 8);
}

/* Reserves a chunk's blocks by writing its zeros: the file system takes the space now (a full disk fails
 * here, never as a SIGBUS in the program), and the pages are in the page cache before records land there,
 * which costs less per record than fallocate's unwritten extents (benchmarks/RESULTS.md). */
static int reserve_blocks(int fd, uint64_t offset, uint64_t length)
{
    static const char zeros[64 << 10];
    for (uint64_t done = 0; done < length;) {
        size_t step = length - done < sizeof(zeros) ? (size_t)(length - done) : sizeof(zeros);
        long wrote = syscall(SYS_pwrite64, fd, zeros, step, (off_t)(offset + done));
        if (wrote <= 0)
            return -1;
        done += (uint64_t)wrote;
    }
    return 0;
}

static void count_skipped(struct tlog *t)
{
    t->skipped++;
    if (t->base != NULL)
        memcpy(t->base + SKIPPED_AT, &t->skipped, 4);
}

static void maps_record(void);

int tlog_open(struct tlog *t)
{
    int saved = errno;
    t->state = T_BUSY;
    t->tid = (int)syscall(SYS_gettid);
    char path[sizeof(g_dir) + 96];
    int fd = -1;
    for (uint32_t n = 0; n < 100000; n++) {
        log_path(path, sizeof(path), t->tid, n);
        fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd >= 0 || errno != EEXIST) {
            t->n = n;
            break;
        }
    }
    void *base = MAP_FAILED;
    if (fd >= 0) {
        if (syscall(SYS_ftruncate, fd, (off_t)FILE_SIZE) == 0 && reserve_blocks(fd, 0, FIRST_CHUNK) == 0)
            base = (void *)syscall(SYS_mmap, NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        sys_close(fd);
    }
    if (base == MAP_FAILED) {
        t->state = T_FAILED;
        errno = saved;
        problem("a log file cannot be made in IPCTRACE_LOGS (disk full, no folder, or no descriptor left): "
                "this thread runs untraced");
        return 0;
    }
    syscall(SYS_madvise, base, FIRST_CHUNK, MADV_POPULATE_WRITE); /* no page fault per record */
    char *h = base;
    uint16_t version = 1, header_size = HEADER_SIZE, record_head = 96, writer = 2;
    uint32_t pid = (uint32_t)g_pid, ppid = (uint32_t)getppid(), tid = (uint32_t)t->tid, cap = g_cap, flags = 1;
    int64_t created = now_ns();
    memcpy(h + 8, &version, 2);
    memcpy(h + 10, &header_size, 2);
    memcpy(h + 12, &record_head, 2);
    memcpy(h + 14, &writer, 2);
    memcpy(h + 16, &pid, 4);
    memcpy(h + 20, &ppid, 4);
    memcpy(h + 24, &tid, 4);
    memcpy(h + 28, &t->n, 4);
    memcpy(h + 32, &created, 8);
    memcpy(h + 40, &cap, 4);
    memcpy(h + 44, &flags, 4); /* SITE_IS_ADDRESS: sites are return addresses */
    /* The magic last, in one 8-byte store after every other field (the release orders them): a reader
     * takes the file once its header is whole, and never sees half a magic. */
    uint64_t magic;
    memcpy(&magic, "IPCTLOG", 8);
    __atomic_store_n((uint64_t *)(void *)h, magic, __ATOMIC_RELEASE);
    t->base = base;
    t->pos = HEADER_SIZE;
    t->limit = FIRST_CHUNK;
    t->chunk = FIRST_CHUNK;
    t->skipped = 0;
    t->state = T_OK;
    maps_record();
    errno = saved;
    return 1;
}

int grow(struct tlog *t, uint64_t need)
{
    if (t->growing)
        return 0; /* a signal handler while this thread grows its log: that one record is skipped */
    t->growing = 1;
    int saved = errno, ok = 0;
    uint64_t limit = t->limit;
    while (need > limit) {
        t->chunk = t->chunk * 2 > MAX_CHUNK ? MAX_CHUNK : t->chunk * 2;
        limit += t->chunk;
    }
    if (limit <= FILE_SIZE) {
        char path[sizeof(g_dir) + 96];
        log_path(path, sizeof(path), t->tid, t->n);
        int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            ok = reserve_blocks(fd, t->limit, limit - t->limit) == 0;
            sys_close(fd);
        }
        if (ok) {
            syscall(SYS_madvise, t->base + t->limit, limit - t->limit, MADV_POPULATE_WRITE);
            t->limit = limit;
        }
    }
    errno = saved;
    t->growing = 0;
    if (!ok) {
        count_skipped(t);
        problem("a log cannot grow (disk full, or 1 GiB written by one thread)");
    }
    return ok;
}

void log_forget_inherited(void)
{
    struct tlog *t = &tl;
    if (t->base != NULL)
        syscall(SYS_munmap, t->base, FILE_SIZE); /* a forked child never writes into its parent's log */
    memset(t, 0, sizeof(*t));
    memset(&g_inside, 0, sizeof(g_inside));
    g_pid = (int)syscall(SYS_getpid);
}

void log_setup(void)
{
    const char *dir = getenv("IPCTRACE_LOGS");
    const char *cap = getenv("IPCTRACE_PAYLOAD_CAP");
    g_pid = (int)syscall(SYS_getpid);
    if (dir == NULL || dir[0] != '/' || strlen(dir) >= sizeof(g_dir))
        return;
    memcpy(g_dir, dir, strlen(dir) + 1);
    if (cap != NULL && *cap) {
        char *end;
        long v = strtol(cap, &end, 10);
        if (*end == '\0' && v >= 0 && v < (1L << 30))
            g_cap = (uint32_t)v;
    }
    g_on = ON_RECORD;
}

/* -- records -------------------------------------------------------------------------------------------------- */

struct head *rec_begin(uint16_t call, int fd, uint32_t flags, uint64_t site, int64_t asked, const char *args,
                       uint32_t args_len, uint32_t post_cap, const void *data, uint32_t data_len, uint32_t room)
{
    if (UNLIKELY(g_on != ON_RECORD)) {
        if (!g_on)
            return NULL;
        gate(call, fd);
    }
    struct tlog *t = tlog();
    if (t == NULL)
        return NULL;
    if (args_len > 0xFFFF)
        args_len = 0;
    uint32_t length = (uint32_t)(sizeof(struct head) + args_len + post_cap + data_len + room + 7) & ~7u;
    int64_t pos = reserve(t, length);
    if (pos < 0)
        return NULL;
    struct head *h = (struct head *)(t->base + pos);
    const struct ep *e = (flags & F_FD) && fd >= 0 ? ep_of(fd) : ep_of(-1);
    first_word(h, call, e->kind, length);
    h->fd = fd;
    h->flags = flags;
    h->site = site;
    h->dev = e->dev;
    h->ino = e->ino;
    h->asked = asked;
    h->args_len = (uint16_t)args_len;
    h->post_cap = post_cap;
    memcpy(rec_args(h), args, args_len);
    if (data_len) {
        memcpy(rec_args(h) + args_len + post_cap, data, data_len);
        h->data_len = data_len;
    }
    __atomic_store_n(&h->t0, now_ns(), __ATOMIC_RELEASE);
    entered(h);
    return h;
}

void rec_end(struct head *h, int64_t res, int64_t size, int err, const char *post, uint32_t post_len,
             const void *data, uint32_t data_len)
{
    if (h == NULL)
        return;
    char *blob = rec_args(h) + h->args_len;
    if (post_len > h->post_cap) {
        JB(j, 48);
        jb_raw(&j, "{\"truncated\":");
        jb_int(&j, post_len);
        jb_raw(&j, "}");
        post = NULL;
        post_len = 0;
        if (jb_ok(&j) && j.n <= h->post_cap) {
            post = j.p;
            post_len = j.n;
        }
        count_skipped(&tl);
    }
    if (post_len)
        memcpy(blob, post, post_len);
    if (data != NULL && data_len) {
        memcpy(blob + h->post_cap, data, data_len);
        h->data_len = data_len;
    }
    h->post_len = (uint16_t)post_len;
    h->t1 = (h->flags & F_POINT) ? h->t0 : now_ns();
    h->res = res;
    h->size = size;
    h->err = err;
    store_done(h);
}

void rec_point(uint16_t call, int fd, uint64_t site, const char *args, uint32_t args_len, int64_t res)
{
    struct head *h = rec_begin(call, fd, F_POINT | (fd >= 0 ? F_FD : 0), site, 0, args, args_len, 0, NULL, 0, 0);
    rec_end(h, res, 0, 0, NULL, 0, NULL, 0);
}

void ending_inside(void)
{
    struct tlog *t = &tl;
    uint32_t n = g_inside.depth < 8 ? g_inside.depth : 8;
    for (uint32_t i = n; i-- > 0;) {
        struct head *h = g_inside.h[i];
        if (t->state != T_OK || (char *)h < t->base || (char *)h >= t->base + t->limit || h->state != ST_IN_PROGRESS)
            continue;
        h->t1 = now_ns();
        h->err = EINTR; /* the process ended inside it: it never returned */
        __atomic_store_n(&h->state, ST_DONE, __ATOMIC_RELEASE);
    }
    g_inside.depth = 0;
}

/* Said once on stderr and kept as a `problem` record, so the run's summary says it too. */
static void said_in_log(const char *sentence);

void problem(const char *sentence)
{
    static uint64_t said[32];
    uint64_t hash = 1469598103934665603ULL; /* FNV-1a: each sentence is said once */
    for (const char *c = sentence; *c; c++)
        hash = (hash ^ (unsigned char)*c) * 1099511628211ULL;
    for (int i = 0; i < 32; i++) {
        if (said[i] == hash)
            return;
        if (said[i] == 0) {
            said[i] = hash;
            break;
        }
    }
    int saved = errno;
    char line[512];
    size_t n = strlen(sentence);
    if (n > sizeof(line) - 40)
        n = sizeof(line) - 40;
    memcpy(line, "ipctrace: ", 10);
    memcpy(line + 10, sentence, n);
    memcpy(line + 10 + n, ".\n", 2);
    syscall(SYS_write, 2, line, 12 + n);
    said_in_log(sentence);
    errno = saved;
}

/* A sentence for the run's summary only (a program the recorder cannot enter): nothing on the program's stderr. */
void notice(const char *sentence)
{
    int saved = errno;
    said_in_log(sentence);
    errno = saved;
}

static void said_in_log(const char *sentence)
{
    JB(j, 1200);
    jb_raw(&j, "{\"problem\":");
    jb_str(&j, sentence, strlen(sentence));
    jb_raw(&j, "}");
    if (jb_ok(&j) && tl.state == T_OK)
        rec_point(C_PROBLEM, -1, 0, j.p, j.n, 0);
}

/* The executable lines of /proc/self/maps, so a reader can turn a return address into (object file, offset). */
static void maps_record(void)
{
    enum { CAP = 60000 };
    char *raw = (char *)syscall(SYS_mmap, NULL, 2 * CAP, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
    size_t len = 0;
    if (fd >= 0) {
        long got;
        while (len < CAP - 1 && (got = syscall(SYS_read, fd, raw + len, CAP - 1 - len)) > 0)
            len += (size_t)got;
        sys_close(fd);
    }
    char *kept = raw + CAP;
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t end = i;
        while (end < len && raw[end] != '\n')
            end++;
        const char *perms = memchr(raw + i, ' ', end - i);
        if (perms != NULL && perms + 4 < raw + end && perms[3] == 'x' && k + (end - i) + 1 < CAP / 2) {
            memcpy(kept + k, raw + i, end - i);
            k += end - i;
            kept[k++] = '\n';
        }
        i = end + 1;
    }
    struct jb j = {raw, 0, CAP};
    jb_raw(&j, "{\"maps\":");
    jb_str(&j, kept, k);
    jb_raw(&j, "}");
    if (jb_ok(&j))
        rec_point(C_SITE, -1, 0, j.p, j.n, 0);
    syscall(SYS_munmap, raw, 2 * CAP);
}

HIDDEN void maps_again(void) { maps_record(); }
