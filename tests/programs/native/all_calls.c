/* Every call the native recorder wraps, once, with what it returned printed: the test runs it untraced and
 * traced (the output must be the same) and checks the records of the traced run.
 *
 *     all_calls DIR          (DIR: a folder for a FIFO and a file; ends by exec'ing itself as `all_calls exec`)
 *
 * Built with -D_FORTIFY_SOURCE=2, so that read and recv reach libc as __read_chk and __recv_chk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void show(const char *what, long value)
{
    int err = errno;
    printf("%s = %ld%s%s\n", what, value, value < 0 ? " " : "", value < 0 ? strerrorname_np(err) : "");
}
#define SHOW(what, call) show(what, (long)(call))

int main(int argc, char *argv[])
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 2 && strcmp(argv[1], "exec") == 0) {
        printf("exec'd with %s\n", getenv("IPCTRACE_LOGS") ? "the log folder" : "no log folder");
        _exit(3);
    }
    if (argc != 2)
        return 2;
    char buf[64], path[4096];

    int p[2], q[2];
    SHOW("pipe", pipe(p));
    SHOW("pipe2", pipe2(q, O_CLOEXEC));
    SHOW("write", write(p[1], "ping", 4));
    SHOW("read", read(p[0], buf, sizeof(buf)));
    struct iovec out[2] = {{"ab", 2}, {"cde", 3}}, in[2] = {{buf, 1}, {buf + 1, 10}};
    SHOW("writev", writev(q[1], out, 2));
    SHOW("readv", readv(q[0], in, 2));
    int d = dup(p[0]);
    SHOW("dup", d);
    SHOW("dup2", dup2(p[1], 20));
    SHOW("dup3", dup3(p[1], 21, O_CLOEXEC));
    SHOW("fcntl", fcntl(p[1], F_DUPFD, 30));
    SHOW("close", close(d));
    SHOW("close_range", close_range(20, 40, 0));
    SHOW("close EBADF", close(999));
    SHOW("read EBADF", read(-1, buf, 1));
    volatile size_t some = 4; /* not known when compiled: the fortified variants are called */
    SHOW("write fortified", write(p[1], "fortified", 9));
    SHOW("__read_chk", read(p[0], buf, some));
    SHOW("read rest", read(p[0], buf, sizeof(buf)));

    int sv[2];
    SHOW("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    SHOW("send", send(sv[0], "hello", 5, 0));
    SHOW("recv peek", recv(sv[1], buf, 2, MSG_PEEK));
    SHOW("recv", recv(sv[1], buf, some, 0));
    SHOW("recv rest", recv(sv[1], buf, sizeof(buf), 0));
    SHOW("send dontwait", send(sv[0], "x", 1, MSG_DONTWAIT));
    SHOW("read", read(sv[1], buf, sizeof(buf)));
    char cbuf[CMSG_SPACE(sizeof(int))] = {0};
    struct iovec iov = {"fd", 2};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &p[0], sizeof(int));
    SHOW("sendmsg", sendmsg(sv[0], &msg, 0));
    char rbuf[CMSG_SPACE(sizeof(int))];
    struct iovec riov = {buf, sizeof(buf)};
    struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = rbuf, .msg_controllen = sizeof(rbuf)};
    SHOW("recvmsg", recvmsg(sv[1], &rmsg, 0));
    int got;
    memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&rmsg)), sizeof(int));
    SHOW("passed fd", got);

    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    SHOW("socket", l);
    SHOW("setsockopt", setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    SHOW("bind", bind(l, (struct sockaddr *)&a, sizeof(a)));
    SHOW("listen", listen(l, 5));
    socklen_t alen = sizeof(a);
    getsockname(l, (struct sockaddr *)&a, &alen);
    int cl = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect", connect(cl, (struct sockaddr *)&a, sizeof(a)));
    int sv1 = accept(l, NULL, NULL);
    SHOW("accept", sv1);
    int cl2 = socket(AF_INET, SOCK_STREAM, 0);
    connect(cl2, (struct sockaddr *)&a, sizeof(a));
    SHOW("accept4", accept4(l, NULL, NULL, SOCK_CLOEXEC));
    SHOW("send tcp", send(cl, "over tcp", 8, 0));
    SHOW("recv tcp", recv(sv1, buf, sizeof(buf), 0));
    SHOW("shutdown", shutdown(cl, SHUT_WR));
    SHOW("recv eof", recv(sv1, buf, sizeof(buf), 0));
    int closed_port = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in nowhere = a;
    nowhere.sin_port = 0;
    bind(closed_port, (struct sockaddr *)&nowhere, sizeof(nowhere));
    alen = sizeof(nowhere);
    getsockname(closed_port, (struct sockaddr *)&nowhere, &alen);
    close(closed_port);
    int refused = socket(AF_INET, SOCK_STREAM, 0);
    SHOW("connect refused", connect(refused, (struct sockaddr *)&nowhere, sizeof(nowhere)));

    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in ua = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(u1, (struct sockaddr *)&ua, sizeof(ua));
    alen = sizeof(ua);
    getsockname(u1, (struct sockaddr *)&ua, &alen);
    SHOW("sendto", sendto(u2, "datagram", 8, 0, (struct sockaddr *)&ua, sizeof(ua)));
    struct sockaddr_in from;
    socklen_t flen = sizeof(from);
    SHOW("recvfrom", recvfrom(u1, buf, 8 + some - 4, 0, (struct sockaddr *)&from, &flen));
    sendto(u2, "again", 5, 0, (struct sockaddr *)&ua, sizeof(ua));
    SHOW("recvfrom no address", recvfrom(u1, buf, sizeof(buf), 0, NULL, NULL));

    SHOW("write r", write(p[1], "r", 1));
    fd_set rs;
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    struct timeval tv = {1, 500000};
    SHOW("select", select(p[0] + 1, &rs, NULL, NULL, &tv));
    struct pollfd pf = {p[0], POLLIN, 0};
    volatile nfds_t one_fd = 1;
    SHOW("poll", poll(&pf, one_fd, 1000));
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]}, evs[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    SHOW("epoll_wait", epoll_wait(ep, evs, 4, 1000));
    SHOW("read r", read(p[0], buf, 1));

    SHOW("usleep", usleep(1000));
    struct timespec ts = {0, 2000000};
    SHOW("nanosleep", nanosleep(&ts, NULL));
    SHOW("sleep", sleep(0));

    snprintf(path, sizeof(path), "%s/fifo", argv[1]);
    mkfifo(path, 0600);
    int fifo = open(path, O_RDWR);
    SHOW("open fifo", fifo);
    snprintf(path, sizeof(path), "%s/file", argv[1]);
    int file = open(path, O_CREAT | O_WRONLY, 0600);
    SHOW("open file", file);

    pid_t child = fork();
    if (child == 0) {
        if (write(p[1], "from child", 10) != 10)
            _exit(1);
        _exit(7);
    }
    int status;
    SHOW("waitpid", waitpid(child, &status, 0) == child);
    SHOW("child status", WEXITSTATUS(status));
    child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    SHOW("kill", kill(child, SIGTERM));
    SHOW("wait", wait(&status) == child);
    SHOW("signalled", WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    SHOW("wait ECHILD", wait(NULL));

    char *env[] = {"PATH=/usr/bin:/bin", NULL}; /* an environment without the tracing variables */
    char *args[] = {argv[0], "exec", NULL};
    execve("/proc/self/exe", args, env);
    SHOW("execve", -1);
    return 1;
}
