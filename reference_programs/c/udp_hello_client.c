/* UDP hello client: no connect — the server's address travels with every sendto.
 *
 * Seed 004, "UDP 소켓 프로그래밍 — 클라이언트 코드", as printed: it sends to INADDR_ANY (0.0.0.0),
 * which Linux delivers to the local host. Start udp_hello_server first.
 * Python port: ../udp_hello_client.py. Catalogue: README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common.h"

#define PORT 8080

int main(int argc, char *argv[]) {
    int sock = 0;
    struct sockaddr_in serv_addr;
    char *hello = "Hello from client";
    char buffer[1024] = {0};
    int addrlen = sizeof(serv_addr);

    check_options(argc, argv, (const char *const[]){"--host", "--port", NULL});
    const char *host = option(argc, argv, "--host", "0.0.0.0"); /* deviation: --host, default INADDR_ANY */
    int port = port_option(argc, argv, PORT);                  /* deviation: --port, default PORT */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    // 소켓 파일 디스크립터 생성
    if ((sock = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    // 서버 주소 구조체 설정
    serv_addr.sin_family = AF_INET;
    serv_addr.sin_port = htons(port);
    serv_addr.sin_addr.s_addr = inet_addr(host); /* deviation: --host; printed: INADDR_ANY */

    // 데이터 송신
    sendto(sock, hello, strlen(hello), 0, (struct sockaddr *)&serv_addr, addrlen);
    printf("Hello message sent\n");

    // 데이터 수신
    recvfrom(sock, buffer, 1024, 0, (struct sockaddr *)&serv_addr,
             (socklen_t *)&addrlen); /* compile fix: the cast, as the printed accept() calls have it */
    printf("Message from server: %s\n", buffer);

    // 소켓 닫기
    close(sock);

    return 0;
}
