/* UDP file server with DONE: an application-level completion handshake on top of UDP.
 *
 * Seed 004, "과제 2: UDP 소켓을 이용한 파일 전송 프로그램 확장 — 서버 코드", as printed, quirk kept:
 * `strncmp(buffer, "DONE", 4)` also ends the transfer at a file chunk that happens to begin with DONE.
 * Run it, then udp_file_done_client. Python port: ../udp_file_done_server.py. Catalogue: README.md.
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

    if ((sockfd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        error("socket creation failed");
    }

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_addr.s_addr = INADDR_ANY;
    servaddr.sin_port = htons(port);

    if (bind(sockfd, (const struct sockaddr *)&servaddr, sizeof(servaddr)) < 0) {
        error("bind failed");
    }

    FILE *file = fopen(in_dir(path, sizeof(path), dir, "received_file.txt"), "wb");
    if (!file) {
        error("file open failed");
    }

    int n;
    while ((n = recvfrom(sockfd, buffer, BUFFER_SIZE, 0, (struct sockaddr *)&cliaddr, &len)) > 0) {
        if (strncmp(buffer, "DONE", 4) == 0) {
            break;
        }
        fwrite(buffer, sizeof(char), n, file);
    }

    fclose(file);
    sendto(sockfd, "DONE", 4, 0, (const struct sockaddr *)&cliaddr, len);
    close(sockfd);
    printf("File received successfully.\n");

    return 0;
}
