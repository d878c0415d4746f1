/* UDP hello server: no listen/accept — one datagram in, one datagram back to its sender.
 *
 * Seed 004, "UDP 소켓 프로그래밍 — 서버 코드", as printed, quirks kept (the `socket(...) == 0` test).
 * No SO_REUSEADDR: UDP has no TIME_WAIT. Run it, then udp_hello_client.
 * Python port: ../udp_hello_server.py. Catalogue: README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common.h"

#define PORT 8080

int main(int argc, char *argv[]) {
    int server_fd;
    struct sockaddr_in address, client_addr;
    int addrlen = sizeof(client_addr);
    char buffer[1024] = {0};
    char *hello = "Hello from server";

    check_options(argc, argv, (const char *const[]){"--port", NULL});
    int port = port_option(argc, argv, PORT); /* deviation: --port, default PORT */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    // 소켓 파일 디스크립터 생성
    if ((server_fd = socket(AF_INET, SOCK_DGRAM, 0)) == 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

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

    // 데이터 수신
    recvfrom(server_fd, buffer, 1024, 0, (struct sockaddr *)&client_addr,
             (socklen_t *)&addrlen); /* compile fix: the cast, as the printed accept() calls have it */
    printf("Message from client: %s\n", buffer);

    // 데이터 송신
    sendto(server_fd, hello, strlen(hello), 0, (struct sockaddr *)&client_addr, addrlen);
    printf("Hello message sent\n");

    // 소켓 닫기
    close(server_fd);

    return 0;
}
