/* UDP file client with DONE: send the file, announce the end, wait for the server's DONE.
 *
 * Seed 004, "과제 2: UDP 소켓을 이용한 파일 전송 프로그램 확장 — 클라이언트 코드", as printed: the
 * destination is INADDR_ANY (0.0.0.0), and if the DONE datagram were lost the client would wait in
 * recvfrom forever. Start udp_file_done_server first. Python port: ../udp_file_done_client.py.
 * Catalogue: README.md.
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
    socklen_t len = sizeof(servaddr);
    char path[4096];

    check_options(argc, argv, (const char *const[]){"--host", "--port", "--dir", NULL});
    const char *host = option(argc, argv, "--host", "0.0.0.0"); /* deviation: --host, default INADDR_ANY */
    int port = port_option(argc, argv, PORT);                  /* deviation: --port, default PORT */
    const char *dir = option(argc, argv, "--dir", ".");      /* deviation: --dir, the folder of the file */
    setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

    if ((sockfd = socket(AF_INET, SOCK_DGRAM, 0)) < 0) {
        error("socket creation failed");
    }

    memset(&servaddr, 0, sizeof(servaddr));
    servaddr.sin_family = AF_INET;
    servaddr.sin_port = htons(port);
    servaddr.sin_addr.s_addr = inet_addr(host); /* deviation: --host; printed: INADDR_ANY */

    FILE *file = fopen(in_dir(path, sizeof(path), dir, "send_file.txt"), "rb");
    if (!file) {
        error("file open failed");
    }

    int n;
    while ((n = fread(buffer, sizeof(char), BUFFER_SIZE, file)) > 0) {
        sendto(sockfd, buffer, n, 0, (const struct sockaddr *)&servaddr, len);
    }

    fclose(file);
    sendto(sockfd, "DONE", 4, 0, (const struct sockaddr *)&servaddr, len);
    recvfrom(sockfd, buffer, BUFFER_SIZE, 0, (struct sockaddr *)&servaddr, &len);
    if (strncmp(buffer, "DONE", 4) == 0) {
        printf("File sent successfully.\n");
    }

    close(sockfd);

    return 0;
}
