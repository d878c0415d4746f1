/* Unix datagram socket client: bind a name of its own, sendto the server's name, recvfrom.
 *
 * Seed 002 ("Datagram socket을 사용한 IPC"), the client side: socket, bind, sendto, recvfrom, close.
 * Written like seed 004's UDP hello client, mirroring the Python port ../unix_dgram_client.py call for
 * call. Start unix_dgram_server first. Catalogue: README.md.
 *
 * As in the Python port: the seed says the client's bind is optional. That is true for sending, but an
 * unbound Unix datagram socket has no name, so the server's recvfrom gets no address and could not
 * reply; the client binds (`--client-path`) to receive the answer. A stale socket file from a crashed
 * run is removed before bind, and the client's name is removed after close.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"

#define BUFFER_SIZE 1024
#define DEFAULT_PATH "/tmp/ipctrace_unix_dgram.sock"
#define DEFAULT_CLIENT_PATH "/tmp/ipctrace_unix_dgram_client.sock"

void error(const char *msg) {
    perror(msg);
    exit(1);
}

/* `path` as a Unix socket address; a name too long for sun_path ends the program, as Python's does. */
static socklen_t unix_address(struct sockaddr_un *addr, const char *path, const char *what) {
    memset(addr, 0, sizeof(*addr));
    addr->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(addr->sun_path)) {
        fprintf(stderr, "%s: AF_UNIX path too long\n", what);
        exit(1);
    }
    strcpy(addr->sun_path, path);
    return sizeof(*addr);
}

int main(int argc, char *argv[]) {
    int sock = 0;
    struct sockaddr_un own_addr, serv_addr;
    socklen_t addrlen;
    char *hello = "Hello from client";
    char buffer[BUFFER_SIZE] = {0};

    check_options(argc, argv, (const char *const[]){"--path", "--client-path", NULL});
    const char *path = option(argc, argv, "--path", DEFAULT_PATH);
    const char *client_path = option(argc, argv, "--client-path", DEFAULT_CLIENT_PATH);
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    if ((sock = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0) {
        error("socket failed");
    }
    remove_stale(client_path);

    if (bind(sock, (struct sockaddr *)&own_addr, unix_address(&own_addr, client_path, "bind failed")) < 0) {
        error("bind failed"); /* needed to receive the reply, see above */
    }

    addrlen = unix_address(&serv_addr, path, "sendto failed");
    sendto(sock, hello, strlen(hello), 0, (struct sockaddr *)&serv_addr, addrlen);
    printf("Hello message sent\n");

    recvfrom(sock, buffer, BUFFER_SIZE, 0, (struct sockaddr *)&serv_addr, &addrlen);
    printf("Message from server: %s\n", buffer);

    close(sock);
    unlink(client_path);

    return 0;
}
