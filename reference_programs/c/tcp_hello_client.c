/* TCP hello client: the client-side TCP call sequence, one message each way.
 *
 * Seed 004, "TCP 소켓 프로그래밍 — 클라이언트 코드", as printed. Start tcp_hello_server first.
 * Python port: ../tcp_hello_client.py. Catalogue: README.md.
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

    check_options(argc, argv, (const char *const[]){"--host", "--port", NULL});
    const char *host = option(argc, argv, "--host", "127.0.0.1"); /* deviation: --host, default as printed */
    int port = port_option(argc, argv, PORT);                    /* deviation: --port, default PORT */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    // 소켓 파일 디스크립터 생성
    if ((sock = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
        perror("socket failed");
        exit(EXIT_FAILURE);
    }

    // 서버 주소 구조체 설정
    serv_addr.sin_family = AF_INET;
    serv_addr.sin_port = htons(port);

    // 서버 주소 변환
    if (inet_pton(AF_INET, host, &serv_addr.sin_addr) <= 0) {
        perror("Invalid address or Address not supported");
        close(sock);
        exit(EXIT_FAILURE);
    }

    // 서버에 연결
    if (connect(sock, (struct sockaddr *)&serv_addr, sizeof(serv_addr)) < 0) {
        perror("Connection failed");
        close(sock);
        exit(EXIT_FAILURE);
    }

    // 데이터 송신
    send(sock, hello, strlen(hello), 0);
    printf("Hello message sent\n");

    // 데이터 수신
    read(sock, buffer, 1024);
    printf("Message from server: %s\n", buffer);

    // 소켓 닫기
    close(sock);

    return 0;
}
