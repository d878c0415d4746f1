/* Unix stream socket server: IPC between unrelated processes that meet at a file name.
 *
 * Seed 002 ("stream socket을 사용한 IPC") lists the calls, not a program: socket, bind, listen, accept,
 * read/write ("socket이 파일 디스크립터로 접근이 가능하기 때문"), close. This is the smallest program that
 * makes them, written like seed 004's TCP hello server so the two compare side by side, and mirroring
 * the Python port ../unix_stream_server.py call for call. Catalogue: README.md.
 *
 * Choices the seed leaves open (as in the Python port): the messages and output of tcp_hello;
 * `--path` names the socket; a socket file left behind by a crashed run is removed before bind
 * (otherwise bind fails with "Address already in use"), and the name is removed at the end, because
 * closing a socket does not remove its name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common.h"

#define BUFFER_SIZE 1024
#define DEFAULT_PATH "/tmp/ipctrace_unix_stream.sock"

void error(const char *msg) {
    perror(msg);
    exit(1);
}

int main(int argc, char *argv[]) {
    int server_fd, new_socket;
    struct sockaddr_un address;
    char buffer[BUFFER_SIZE] = {0};
    char *hello = "Hello from server";

    check_options(argc, argv, (const char *const[]){"--path", NULL});
    const char *path = option(argc, argv, "--path", DEFAULT_PATH);
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    if ((server_fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
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

    if (listen(server_fd, 5) < 0) {
        error("listen failed");
    }

    if ((new_socket = accept(server_fd, NULL, NULL)) < 0) {
        error("accept failed");
    }

    read(new_socket, buffer, BUFFER_SIZE);
    printf("Message from client: %s\n", buffer);

    write(new_socket, hello, strlen(hello));
    printf("Hello message sent\n");

    close(new_socket);
    close(server_fd);
    unlink(path);

    return 0;
}
