/* TCP chat server with `exit`: an application-level end of conversation on top of TCP.
 *
 * Seed 004, "과제 1: TCP 소켓을 이용한 간단한 채팅 프로그램 확장 — 서버 코드", as printed, quirks kept
 * (`strncmp(buffer, "exit", 4)` also ends on `exit2` or `exiting`; the `socket(...) == 0` test).
 * Python port: ../tcp_chat_exit_server.py. Catalogue: README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common.h"

#define PORT 8080
#define BUFFER_SIZE 1024

void error(const char *msg) {
    perror(msg);
    exit(1);
}

int main(int argc, char *argv[]) {
    int server_fd, new_socket;
    struct sockaddr_in address;
    int addrlen = sizeof(address);
    char buffer[BUFFER_SIZE] = {0};
    int opt = 1;

    check_options(argc, argv, (const char *const[]){"--port", NULL});
    int port = port_option(argc, argv, PORT); /* deviation: --port, default PORT */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */
    setvbuf(stdin, NULL, _IOLBF, 0);  /* deviation: so the prompt is shown before input is read, as on a terminal */

    if ((server_fd = socket(AF_INET, SOCK_STREAM, 0)) == 0) {
        error("socket failed");
    }

    /* deviation: SO_REUSEADDR, so the example runs twice in a row (no "Address already in use") */
    setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));

    address.sin_family = AF_INET;
    address.sin_addr.s_addr = INADDR_ANY;
    address.sin_port = htons(port);

    if (bind(server_fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        error("bind failed");
    }

    if (listen(server_fd, 3) < 0) {
        error("listen failed");
    }

    printf("Waiting for a connection...\n");

    if ((new_socket = accept(server_fd, (struct sockaddr *)&address, (socklen_t *)&addrlen)) < 0) {
        error("accept failed");
    }

    printf("Connection established with client.\n");

    while (1) {
        memset(buffer, 0, BUFFER_SIZE);
        int read_bytes = read(new_socket, buffer, BUFFER_SIZE);
        if (read_bytes <= 0 || strncmp(buffer, "exit", 4) == 0) {
            break;
        }
        printf("Client: %s\n", buffer);

        printf("Server: ");
        if (fgets(buffer, BUFFER_SIZE, stdin) == NULL) { /* deviation: end of input ends the chat */
            break;                                       /* (printed: a stale buffer is re-sent forever) */
        }
        send(new_socket, buffer, strlen(buffer), 0);
        if (strncmp(buffer, "exit", 4) == 0) {
            break;
        }
    }

    close(new_socket);
    close(server_fd);

    return 0;
}
