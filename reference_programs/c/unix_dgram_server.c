/* Unix datagram socket server: no connection — every datagram names its destination.
 *
 * Seed 002 ("Datagram socket을 사용한 IPC") lists the calls, not a program: socket, bind, recvfrom,
 * sendto, close. This is the smallest program that makes them, written like seed 004's UDP hello server
 * so the two compare side by side, and mirroring the Python port ../unix_dgram_server.py call for call.
 * Catalogue: README.md.
 *
 * Choices the seed leaves open (as in the Python port): the messages and output of udp_hello;
 * `--path` names the socket; a socket file left behind by a crashed run is removed before bind, and the
 * name is removed after close.
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

void error(const char *msg) {
    perror(msg);
    exit(1);
}

int main(int argc, char *argv[]) {
    int server_fd;
    struct sockaddr_un address, client_addr;
    socklen_t addrlen = sizeof(client_addr);
    char buffer[BUFFER_SIZE] = {0};
    char *hello = "Hello from server";

    check_options(argc, argv, (const char *const[]){"--path", NULL});
    const char *path = option(argc, argv, "--path", DEFAULT_PATH);
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    if ((server_fd = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0) {
        error("socket failed");
    }
    remove_stale(path);

    memset(&address, 0, sizeof(address));
    address.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(address.sun_path)) {
        fprintf(stderr, "bind failed: AF_UNIX path too long\n");
        exit(1);
    }
    strcpy(address.sun_path, path);

    if (bind(server_fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        error("bind failed");
    }

    recvfrom(server_fd, buffer, BUFFER_SIZE, 0, (struct sockaddr *)&client_addr, &addrlen);
    printf("Message from client: %s\n", buffer);

    sendto(server_fd, hello, strlen(hello), 0, (struct sockaddr *)&client_addr, addrlen);
    printf("Hello message sent\n");

    close(server_fd);
    unlink(path);

    return 0;
}
