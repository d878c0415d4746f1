/* UDP file server: datagrams carry no end of stream, so this server never finishes.
 *
 * Seed 004, "실습 2: UDP 소켓을 이용한 파일 전송 프로그램 — 서버 코드", as printed. The client never
 * sends an empty datagram, so recvfrom never returns 0 and "File received successfully." is never
 * printed: the motivation of 과제 2 (udp_file_done_server). Stop it with Ctrl-C.
 * Python port: ../udp_file_server.py. Catalogue: README.md.
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
    struct sockaddr_in servaddr, cliaddr;
    char buffer[BUFFER_SIZE];
    socklen_t len = sizeof(cliaddr);
    char path[4096];

    check_options(argc, argv, (const char *const[]){"--port", "--dir", NULL});
    int port = port_option(argc, argv, PORT);             /* deviation: --port, default PORT */
    const char *dir = option(argc, argv, "--dir", "."); /* deviation: --dir, the folder of the file */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    // 소켓 파일 디스크립터 생성
    if ((sockfd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        error("socket creation failed");
    }

    // 서버 주소 설정
    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = INADDR_ANY;
    servaddr.sin_port = htons(port);

    // 소켓과 포트 바인딩
    if (bind(sockfd, (const struct sockaddr *)&servaddr, sizeof(servaddr)) < 0) {
        error("bind failed");
    }

    // 파일 열기
    FILE *file = fopen(in_dir(path, sizeof(path), dir, "received_file.txt"), "wb");
    if (!file) {
        error("file open failed");
    }
    /* deviation: unbuffered, so what was received is on disk although fclose is never reached */
    setvbuf(file, NULL, _IONBF, 0);

    // 파일 데이터 수신
    int n;
    while ((n = recvfrom(sockfd, buffer, BUFFER_SIZE, 0, (struct sockaddr *)&cliaddr, &len)) > 0) {
        fwrite(buffer, sizeof(char), n, file);
    }

    fclose(file);
    close(sockfd);
    printf("File received successfully.\n");

    return 0;
}
