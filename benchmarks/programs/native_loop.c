/* Workload: N one-byte round trips through a pipe or a socketpair, timed inside the process (the C twin of
 * ipc_loop.py, for the native recorder).
 *
 *     native_loop pipe 100000        write(w, "x", 1); read(r, buf, 1)
 *     native_loop socketpair 100000  send(a, "x", 1, 0); recv(b, buf, 1, 0)
 *
 * Prints one JSON line: nanoseconds per iteration of the timed loop (start-up and a short warm-up excluded).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char *argv[])
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s pipe|socketpair N\n", argv[0]);
        return 2;
    }
    int socketpair_mode = strcmp(argv[1], "socketpair") == 0;
    if (!socketpair_mode && strcmp(argv[1], "pipe") != 0) {
        fprintf(stderr, "unknown workload %s: pipe or socketpair\n", argv[1]);
        return 2;
    }
    long n = atol(argv[2]), warm = n / 100 > 100 ? n / 100 : 100;
    int fds[2];
    if ((socketpair_mode ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds)) != 0) {
        perror("pipe");
        return 1;
    }
    int out = socketpair_mode ? fds[0] : fds[1], in = socketpair_mode ? fds[1] : fds[0];
    char buf[1];
    long long t0 = 0;
    for (long i = -warm; i < n; i++) {
        if (i == 0)
            t0 = now();
        if (socketpair_mode) {
            if (send(out, "x", 1, 0) != 1 || recv(in, buf, 1, 0) != 1)
                return 1;
        } else if (write(out, "x", 1) != 1 || read(in, buf, 1) != 1) {
            return 1;
        }
    }
    long long t1 = now();
    printf("{\"kind\": \"%s\", \"n\": %ld, \"warmup\": %ld, \"ns_per_iter\": %.1f}\n", argv[1], n, warm,
           (double)(t1 - t0) / (double)n);
    return 0;
}
