/* Forks N children that write numbered messages into a pipe flat out; each is killed after a random moment.
 *
 *     kill_sender N SIGNAL SEED
 *
 * The C twin of ../record/kill_sender.py: the parent drains each child's pipe and prints one JSON line, for
 * each child its pid and the bytes that came out of its pipe; the test compares them with its recorded writes.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char *argv[])
{
    if (argc != 4)
        return 2;
    int n = atoi(argv[1]), sig = atoi(argv[2]);
    srand((unsigned)atoi(argv[3]));
    static char got[1 << 22];
    printf("[");
    for (int k = 0; k < n; k++) {
        int fds[2];
        if (pipe(fds) != 0)
            return 1;
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            char msg[16];
            for (unsigned i = 0;; i++) {
                snprintf(msg, sizeof(msg), "msg%08u;", i);
                if (write(fds[1], msg, 12) != 12)
                    _exit(1);
            }
        }
        close(fds[1]);
        size_t len = 0;
        double deadline = 0; /* the first bytes say it is sending; then a random moment more */
        while (deadline == 0 || now() < deadline) { /* read while the child writes: it is killed writing */
            ssize_t r = read(fds[0], got + len, 65536);
            if (r <= 0)
                break;
            len += (size_t)r;
            if (deadline == 0)
                deadline = now() + (rand() % 1000) / 1e6;
        }
        kill(pid, sig);
        waitpid(pid, NULL, 0);
        ssize_t r;
        while ((r = read(fds[0], got + len, sizeof(got) - len)) > 0)
            len += (size_t)r;
        close(fds[0]);
        printf("%s[%d, \"%.*s\"]", k ? ", " : "", (int)pid, (int)len, got);
    }
    printf("]\n");
    return 0;
}
