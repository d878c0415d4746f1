/* What a program can see of the explorer's gate: its descriptor numbers and its sleeps.
 *
 * It prints (so a gate connects), then makes a pipe, sleeps 1 s, forks; the child makes a socketpair, and
 * each prints its numbers. Untraced and under the gate the numbers must be the same; the sleep is real
 * untraced and virtual under the explorer (the parent says which it saw).
 */
#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
    printf("start\n");
    fflush(stdout);
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    sleep(1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pid_t pid = fork();
    if (pid == 0) {
        int s[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
            _exit(1);
        printf("child %d %d %d %d\n", fds[0], fds[1], s[0], s[1]);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    int again[2];
    if (pipe(again) != 0)
        return 1;
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    printf("parent %d %d %d %d slept %s\n", fds[0], fds[1], again[0], again[1], ms >= 1000 ? "1 s" : "not at all");
    return 0;
}
