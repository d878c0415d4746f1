/* TCP chat client with `exit`: an application-level end of conversation on top of TCP.
 *
 * Seed 004, "과제 1: TCP 소켓을 이용한 간단한 채팅 프로그램 확장 — 클라이언트 코드", as printed,
 * quirk kept (`strncmp(buffer, "exit", 4)` also ends on `exit2` or `exiting`).
 * Python port: ../tcp_chat_exit_client.py. Catalogue: README.md.
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
    int sock = 0;
    struct sockaddr_in serv_addr;
    char buffer[BUFFER_SIZE] = {0};

    check_options(argc, argv, (const char *const[]){"--host", "--port", NULL});
    const char *host = option(argc, argv, "--host", "127.0.0.1"); /* deviation: --host, default as printed */
    int port = port_option(argc, argv, PORT);                    /* deviation: --port, default PORT */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */
    setvbuf(stdin, NULL, _IOLBF, 0);  /* deviation: so the prompt is shown before input is read, as on a terminal */

    if ((sock = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        error("socket failed");
    }

    serv_addr.sin_family = AF_INET;
    serv_addr.sin_port = htons(port);

    if (inet_pton(AF_INET, host, &serv_addr.sin_addr) <= 0) {
        error("Invalid address or Address not supported");
    }

    if (connect(sock, (struct sockaddr *)&serv_addr, sizeof(serv_addr)) < 0) {
        error("Connection failed");
    }

    printf("Connected to server.\n");

    while (1) {
        printf("Client: ");
        if (fgets(buffer, BUFFER_SIZE, stdin) == NULL) { /* deviation: end of input ends the chat */
            break;                                       /* (printed: a stale buffer is re-sent forever) */
        }
        send(sock, buffer, strlen(buffer), 0);
        if (strncmp(buffer, "exit", 4) == 0) {
            break;
        }

        memset(buffer, 0, BUFFER_SIZE);
        int read_bytes = read(sock, buffer, BUFFER_SIZE);
        if (read_bytes <= 0 || strncmp(buffer, "exit", 4) == 0) {
            break;
        }
        printf("Server: %s\n", buffer);
    }

    close(sock);

    return 0;
}
