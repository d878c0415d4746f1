/* A student's homework: a one-shot TCP echo server that answers in capitals (the C twin of
 * tests/programs/echo_server.py), run from a user's scenario file by the native recorder test. */
#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
    int serv_sock = socket(AF_INET, SOCK_STREAM, 0), on = 1;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(argc > 1 ? atoi(argv[1]) : 8080)};
    char buf[100];
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(serv_sock, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(serv_sock, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(serv_sock, 1) < 0)
        return 1;
    int clnt_sock = accept(serv_sock, NULL, NULL);
    ssize_t n = recv(clnt_sock, buf, sizeof(buf), 0);
    for (ssize_t i = 0; i < n; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    send(clnt_sock, buf, n > 0 ? (size_t)n : 0, 0);
    close(clnt_sock);
    close(serv_sock);
    return 0;
}
