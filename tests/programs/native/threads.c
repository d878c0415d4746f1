/* Two threads write into one pipe; the main thread reads both messages. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fds[2];

static void *writer(void *msg)
{
    if (write(fds[1], msg, strlen(msg)) < 0)
        return NULL;
    return msg;
}

int main(void)
{
    pthread_t a, b;
    char buf[64];
    if (pipe(fds) != 0)
        return 1;
    pthread_create(&a, NULL, writer, "from thread a;");
    pthread_join(a, NULL);
    pthread_create(&b, NULL, writer, "from thread b;");
    pthread_join(b, NULL);
    ssize_t n = read(fds[0], buf, sizeof(buf));
    printf("%.*s\n", (int)n, buf);
    return 0;
}
