/* What stdio writes, and when: a C program's output reaches fd 1 and 2 only when libc flushes it.
 *
 *     stdio         reads lines from stdin; prints with stdout's default buffering (a block on a pipe),
 *                   writes to stderr (unbuffered: one write per call), flushes once in the middle
 */
#include <stdio.h>
#include <string.h>

int main(void)
{
    char line[64];
    int n = 0;
    printf("first line\n");
    fprintf(stderr, "to stderr: %d\n", 1);
    while (fgets(line, sizeof(line), stdin) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        printf("got [%s]\n", line);
        if (++n == 2)
            fflush(stdout);
    }
    fputs("to stderr ", stderr);
    fputs("in two calls\n", stderr);
    printf("%d lines\n", n);
    puts("last line");
    return 0;
}
