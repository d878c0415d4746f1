/* TCP hello server: the server-side TCP call sequence, one message each way.
 *
 * Seed 004, "TCP 소켓 프로그래밍 — 서버 코드", as printed, quirks kept (the `socket(...) == 0` test).
 * Run it, then tcp_hello_client in a second terminal. Python port: ../tcp_hello_server.py.
 * Catalogue: README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common.h"

#define PORT 8080

int main(int argc, char *argv[]) {
    int server_fd, new_socket;
    struct sockaddr_in address;
    int addrlen = sizeof(address);
    char buffer[1024] = {0};
    char *hello = "Hello from server";
    int opt = 1;

    check_options(argc, argv, (const char *const[]){"--port", NULL});
    int port = port_option(argc, argv, PORT); /* deviation: --port, default PORT */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    // 소켓 파일 디스크립터 생성
    if ((server_fd = socket(AF_INET, SOCK_STREAM, 0)) == 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    /* deviation: SO_REUSEADDR, so the example runs twice in a row (no "Address already in use") */
    setsockopt(server_fd, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));

    // 주소 구조체 설정
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = INADDR_ANY;
    address.sin_port = htons(port);

    // 소켓과 포트 연결
    if (bind(server_fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        perror("bind failed");
        close(server_fd);
        exit(EXIT_FAILURE);
    }

    // 연결 요청 대기
    if (listen(server_fd, 3) < 0) {
        perror("listen failed");
        close(server_fd);
        exit(EXIT_FAILURE);
    }

    // 연결 수락
    if ((new_socket = accept(server_fd, (struct sockaddr *)&address, (socklen_t *)&addrlen)) < 0) {
        perror("accept failed");
        close(server_fd);
        exit(EXIT_FAILURE);
    }

    // 데이터 수신
    read(new_socket, buffer, 1024);
    printf("Message from client: %s\n", buffer);

    // 데이터 송신
    send(new_socket, hello, strlen(hello), 0);
    printf("Hello message sent\n");

    // 소켓 닫기
    close(new_socket);
    close(server_fd);

    return 0;
}
