/* Unix stream socket client: connect to a server by its file name, write, read, close.
 *
 * Seed 002 ("stream socket을 사용한 IPC"), the client side: socket, connect, read/write, close; the seed
 * says bind is optional for the client, and this program omits it. Written like seed 004's TCP hello
 * client, mirroring the Python port ../unix_stream_client.py call for call. Start unix_stream_server
 * first. Catalogue: README.md.
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
    int sock = 0;
    struct sockaddr_un serv_addr;
    char *hello = "Hello from client";
    char buffer[BUFFER_SIZE] = {0};

    check_options(argc, argv, (const char *const[]){"--path", NULL});
    const char *path = option(argc, argv, "--path", DEFAULT_PATH);
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    if ((sock = socket(AF_UNIX, SOCK_STREAM, 0)) < 0) {
        error("socket failed");
    }

    memset(&serv_addr, 0, sizeof(serv_addr));
    serv_addr.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(serv_addr.sun_path)) {
        fprintf(stderr, "Connection failed: AF_UNIX path too long\n");
        exit(1);
    }
    strcpy(serv_addr.sun_path, path);

    if (connect(sock, (struct sockaddr *)&serv_addr, sizeof(serv_addr)) < 0) {
        error("Connection failed");
    }

    write(sock, hello, strlen(hello));
    printf("Hello message sent\n");

    read(sock, buffer, BUFFER_SIZE);
    printf("Message from server: %s\n", buffer);

    close(sock);

    return 0;
}
