/* UDP file client: sends a file as 1024-byte datagrams — and nothing marks the end.
 *
 * Seed 004, "실습 2: UDP 소켓을 이용한 파일 전송 프로그램 — 클라이언트 코드", as printed: the
 * destination is INADDR_ANY (0.0.0.0), which Linux delivers to the local host, and nothing waits for
 * the server. Start udp_file_server first. Python port: ../udp_file_client.py. Catalogue: README.md.
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
    int sockfd;
    struct sockaddr_in servaddr;
    char buffer[BUFFER_SIZE];
    char path[4096];

    check_options(argc, argv, (const char *const[]){"--host", "--port", "--dir", NULL});
    const char *host = option(argc, argv, "--host", "0.0.0.0"); /* deviation: --host, default INADDR_ANY */
    int port = port_option(argc, argv, PORT);                  /* deviation: --port, default PORT */
    const char *dir = option(argc, argv, "--dir", ".");      /* deviation: --dir, the folder of the file */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    // 소켓 파일 디스크립터 생성
    if ((sockfd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        error("socket creation failed");
    }

    // 서버 주소 설정
    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_port = htons(port);
    servaddr.sin_addr.s_addr = inet_addr(host); /* deviation: --host; printed: INADDR_ANY */

    // 파일 열기
    FILE *file = fopen(in_dir(path, sizeof(path), dir, "send_file.txt"), "rb");
    if (!file) {
        error("file open failed");
    }

    // 파일 데이터 전송
    int n;
    while ((n = fread(buffer, sizeof(char), BUFFER_SIZE, file)) > 0) {
        sendto(sockfd, buffer, n, 0, (const struct sockaddr *)&servaddr, sizeof(servaddr));
    }

    fclose(file);
    close(sockfd);
    printf("File sent successfully.\n");

    return 0;
}
