/* A C parent that forks a child which execs a Python program, and reads what it writes into a pipe.
 *
 *     forks_python PYTHON SCRIPT
 *
 * The pipe's write end is the child's fd 1; the Python program writes one line there with os.write and
 * print. The parent prints what it read, and the child's exit status.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    if (argc != 3)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(argv[1], argv[1], argv[2], (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[256];
    ssize_t n, total = 0;
    while ((n = read(fds[0], buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
        total += n;
    buf[total] = '\0';
    int status;
    waitpid(pid, &status, 0);
    printf("parent read: %s", buf);
    printf("child exit: %d\n", WEXITSTATUS(status));
    return 0;
}
