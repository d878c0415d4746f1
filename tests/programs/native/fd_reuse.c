/* Descriptors closed and reused inside libc or behind the recorder's back: each write must still name the
 * endpoint it really went to. Prints, one per line, the inode of what each write went to (fstat inside).
 *
 *     fd_reuse DIR
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void wrote(int fd)
{
    struct stat st;
    fstat(fd, &st);
    printf("%d %lu\n", fd, (unsigned long)st.st_ino);
}

int main(int argc, char *argv[])
{
    if (argc != 2)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char path[4096];
    snprintf(path, sizeof(path), "%s/data", argv[1]);

    int p[2];
    if (pipe(p) != 0) /* 3, 4 */
        return 1;
    if (write(p[1], "a", 1) != 1)
        return 1;
    wrote(p[1]);
    syscall(SYS_close, p[1]); /* closed behind the recorder's back ... */
    FILE *f = fopen(path, "w"); /* ... and reused inside libc: fopen's descriptor is 4 again */
    if (write(fileno(f), "b", 1) != 1)
        return 1;
    wrote(fileno(f));
    int kept = fileno(f);
    fclose(f); /* closed inside libc ... */
    int m = memfd_create("ipctrace-test", 0); /* ... reused by a call the recorder does not wrap */
    if (m != kept || write(m, "c", 1) != 1)
        return 1;
    wrote(m);
    return 0;
}
