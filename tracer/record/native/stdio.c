/* The standard streams, where a C program's printf, puts and fgets bytes reach fd 0, 1, 2.
 *
 * stdio moves its bytes with libc's internal read and write, which no LD_PRELOAD library sees. So stdin,
 * stdout and stderr are replaced, before main, by streams of the same buffering (fopencookie) whose reads
 * and writes are the recorded read and write on the same descriptor: every write(1, ...) libc would have
 * made is made, with the same bytes, at the same moment, and recorded as a `write` event. fileno() still
 * answers 0, 1, 2. fdopen of a pipe, socket or terminal gets the same kind of stream (sockets read with
 * fgets are common in homework). Buffering is decided as glibc decides it, from the descriptor when the
 * program starts (a terminal: line-buffered; else blocks of st_blksize; stderr unbuffered).
 *
 * fclose, fopen, freopen and pclose close and reuse descriptors inside libc: the descriptor table forgets
 * those numbers, so a later call names its true endpoint.
 */
#include "ipctrace.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static FILE *g_std[3];
static int g_std_closed[3];

static ssize_t c_read(void *cookie, char *buf, size_t n) { return traced_read((int)(intptr_t)cookie, buf, n, 0); }

/* As glibc's own file write: loop until all is written; on an error, what was written (0 at first). */
static ssize_t c_write(void *cookie, const char *buf, size_t n)
{
    int fd = (int)(intptr_t)cookie;
    size_t done = 0;
    while (done < n) {
        ssize_t r = traced_write(fd, buf + done, n - done, 0);
        if (r <= 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static int c_seek(void *cookie, off64_t *pos, int whence)
{
    off_t r = lseek((int)(intptr_t)cookie, *pos, whence);
    if (r < 0)
        return -1;
    *pos = r;
    return 0;
}

static int c_close(void *cookie)
{
    int fd = (int)(intptr_t)cookie;
    for (int i = 0; i < 3; i++)
        if (g_std[i] != NULL && fileno(g_std[i]) == fd)
            g_std_closed[i] = 1;
    return traced_close(fd, 0);
}

/* A stream on `fd` whose reads and writes are recorded, buffered as glibc would buffer a stream on it. */
static FILE *traced_stream(int fd, const char *mode, int unbuffered)
{
    cookie_io_functions_t io = {c_read, c_write, c_seek, c_close};
    FILE *f = fopencookie((void *)(intptr_t)fd, mode, io);
    if (f == NULL)
        return NULL;
    f->_fileno = fd; /* fileno() answers as it would untraced */
    struct stat st;
    size_t size = BUFSIZ;
    int tty = 0;
    if (syscall(SYS_fstat, fd, &st) == 0) {
        if (st.st_blksize > 0)
            size = (size_t)st.st_blksize;
        tty = S_ISCHR(st.st_mode) && isatty(fd);
    }
    char *buf = unbuffered ? NULL : malloc(size);
    if (unbuffered || buf == NULL)
        setvbuf(f, NULL, _IONBF, 0);
    else
        setvbuf(f, buf, tty ? _IOLBF : _IOFBF, size);
    return f;
}

void stdio_setup(void)
{
    int saved = errno;
    FILE **slots[3] = {&stdin, &stdout, &stderr};
    static const char *const modes[3] = {"r", "w", "w"};
    for (int fd = 0; fd < 3; fd++) {
        if (syscall(SYS_fcntl, fd, F_GETFD) < 0)
            continue; /* not open: the original stream fails as it would */
        FILE *f = traced_stream(fd, modes[fd], fd == 2);
        if (f == NULL)
            continue;
        fflush(*slots[fd]);
        g_std[fd] = f;
        *slots[fd] = f;
    }
    errno = saved;
}

void stdio_flush(void)
{
    for (int fd = 1; fd < 3; fd++)
        if (g_std[fd] != NULL && !g_std_closed[fd])
            fflush(g_std[fd]);
}

/* -- streams the program opens and closes ------------------------------------------------------------------ */

FILE *fdopen(int fd, const char *mode)
{
    REAL(FILE * (*)(int, const char *), fdopen);
    const struct ep *e = g_on ? ep_of(fd) : NULL;
    int ipc = e != NULL && e->valid && e->kind != K_FILE && e->kind != K_DIR && e->kind != K_CHAR &&
              e->kind != K_OTHER && mode != NULL && (mode[0] == 'r' || mode[0] == 'w' || mode[0] == 'a');
    if (!ipc)
        return real_fdopen(fd, mode);
    int flags = (int)syscall(SYS_fcntl, fd, F_GETFL);
    if (flags < 0) {
        errno = EBADF;
        return NULL;
    }
    int plus = 0, cloexec = 0;
    for (const char *m = mode + 1; *m; m++) {
        plus |= *m == '+';
        cloexec |= *m == 'e';
    }
    int acc = flags & O_ACCMODE;
    if ((plus && acc != O_RDWR) || (!plus && mode[0] == 'r' && acc == O_WRONLY) ||
        (!plus && mode[0] != 'r' && acc == O_RDONLY)) {
        errno = EINVAL; /* the mode the descriptor was opened with does not allow it: as fdopen says */
        return NULL;
    }
    if (mode[0] == 'a' && !(flags & O_APPEND))
        syscall(SYS_fcntl, fd, F_SETFL, flags | O_APPEND);
    if (cloexec)
        syscall(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
    char cookie_mode[3] = {mode[0], plus ? '+' : '\0', '\0'};
    return traced_stream(fd, cookie_mode, 0);
}

int fclose(FILE *f)
{
    REAL(int (*)(FILE *), fclose);
    int fd = f != NULL ? fileno(f) : -1;
    int r = real_fclose(f);
    int err = errno;
    if (fd >= 0)
        ep_forget(fd); /* closed inside libc (a traced stream's close was recorded already) */
    errno = err;
    return r;
}

int pclose(FILE *f)
{
    REAL(int (*)(FILE *), pclose);
    int fd = f != NULL ? fileno(f) : -1;
    int r = real_pclose(f);
    int err = errno;
    if (fd >= 0)
        ep_forget(fd);
    errno = err;
    return r;
}

#define FORGET_RESULT(f)                                                                                          \
    do {                                                                                                          \
        if ((f) != NULL) {                                                                                        \
            int err_ = errno;                                                                                     \
            ep_forget(fileno(f));                                                                                 \
            errno = err_;                                                                                         \
        }                                                                                                         \
    } while (0)

FILE *fopen(const char *path, const char *mode)
{
    REAL(FILE * (*)(const char *, const char *), fopen);
    FILE *f = real_fopen(path, mode);
    FORGET_RESULT(f);
    return f;
}

FILE *fopen64(const char *path, const char *mode)
{
    REAL(FILE * (*)(const char *, const char *), fopen64);
    FILE *f = real_fopen64(path, mode);
    FORGET_RESULT(f);
    return f;
}

FILE *freopen(const char *path, const char *mode, FILE *stream)
{
    REAL(FILE * (*)(const char *, const char *, FILE *), freopen);
    int fd = stream != NULL ? fileno(stream) : -1;
    FILE *f = real_freopen(path, mode, stream);
    int err = errno;
    if (fd >= 0)
        ep_forget(fd);
    errno = err;
    FORGET_RESULT(f);
    return f;
}
