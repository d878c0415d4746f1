/* tests/programs/pipe_race.py in C, whose parent then waits for every child (the explorer's `R child`).
 *
 * `pipe_race W N R M [wait]`: W writers each write N 2-byte messages ("a1", "a2", ..., "b1", ...), R readers
 * each read 2 bytes M times and print what they got. The parent closes its ends and leaves, or with `wait`
 * waits for every child first; the outcomes are the Python program's either way: which reader got which
 * messages, in which order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    int w_count = argc > 1 ? atoi(argv[1]) : 2, n = argc > 2 ? atoi(argv[2]) : 2;
    int r_count = argc > 3 ? atoi(argv[3]) : 2, reads = argc > 4 ? atoi(argv[4]) : 2;
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    for (int i = 0; i < w_count; i++) {
        if (fork() == 0) {
            close(fds[0]);
            for (int k = 0; k < n; k++) {
                char m[2] = {(char)('a' + i), (char)('1' + k)};
                if (write(fds[1], m, 2) != 2)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (int i = 0; i < r_count; i++) {
        if (fork() == 0) {
            close(fds[1]);
            char line[256];
            int len = snprintf(line, sizeof(line), "r%d:", i + 1);
            for (int k = 0; k < reads && len < 200; k++) {
                char got[2];
                ssize_t r = read(fds[0], got, 2);
                line[len++] = ' ';
                for (ssize_t j = 0; j < r; j++)
                    line[len++] = got[j];
            }
            line[len++] = '\n';
            if (write(1, line, (size_t)len) != len)
                _exit(1);
            _exit(0);
        }
    }
    close(fds[0]);
    close(fds[1]);
    while (argc > 5 && strcmp(argv[5], "wait") == 0 && wait(NULL) > 0)
        ;
    return 0;
}
