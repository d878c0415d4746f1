/* Multiprocess echo client: a writer child and a reader parent share one TCP socket.
 *
 * The book's echo_mpclient.c (윤성우, 열혈 TCP/IP 소켓 프로그래밍, 10-5 "입출력 루틴 분할"), the client
 * of echo_storeserv (11-2), written from seed 001's description and the Python port
 * ../echo_mpclient.py, with the port's deviations and no others. Splitting input and output into two
 * processes lets the client keep sending without waiting for each echo; shutdown(SHUT_WR) half-closes
 * the connection so the reader still receives the last echoes. Catalogue: README.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "common.h"

#define PORT 8080
#define BUF_SIZE 100 /* deviation: 100, as in the server (the book's client has 30) */
void error_handling(char *message);
void read_routine(int sock, char *buf);
void write_routine(int sock, char *buf);

int main(int argc, char *argv[])
{
	int sock;
	pid_t pid;
	/* deviation: one byte more than BUF_SIZE, for the NUL after a full read (the book writes
	 * buf[BUF_SIZE]) and so that fgets takes a whole BUF_SIZE-byte line, as the port reads lines */
	char buf[BUF_SIZE + 1];
	struct sockaddr_in serv_adr;

	/* deviation: --host (default 127.0.0.1) and --port (default 8080) instead of `<IP> <port>` */
	check_options(argc, argv, (const char *const[]){"--host", "--port", NULL});
	const char *host = option(argc, argv, "--host", "127.0.0.1");
	int port = port_option(argc, argv, PORT);
	setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */
	setvbuf(stdin, NULL, _IOLBF, 0);  /* deviation: input read as on a terminal (README.md, Output) */

	sock=socket(PF_INET, SOCK_STREAM, 0);
	memset(&serv_adr, 0, sizeof(serv_adr));
	serv_adr.sin_family=AF_INET;
	serv_adr.sin_addr.s_addr=inet_addr(host);
	serv_adr.sin_port=htons(port);

	if(connect(sock, (struct sockaddr*)&serv_adr, sizeof(serv_adr))==-1)
		error_handling("connect() error!");

	pid=fork();
	if(pid==0)
		write_routine(sock, buf);
	else
		read_routine(sock, buf);

	close(sock);
	return 0;
}

void read_routine(int sock, char *buf)
{
	while(1)
	{
		int str_len=read(sock, buf, BUF_SIZE);
		if(str_len==0)
			return;

		buf[str_len]=0;
		printf("Message from server: %s", buf);
	}
}
void write_routine(int sock, char *buf)
{
	while(1)
	{
		/* deviation: end of input is treated like q (the book re-sends a stale buffer forever) */
		if(fgets(buf, BUF_SIZE + 1, stdin) == NULL || !strcmp(buf,"q\n") || !strcmp(buf,"Q\n"))
		{
			shutdown(sock, SHUT_WR);
			return;
		}
		write(sock, buf, strlen(buf));
	}
}
void error_handling(char *message)
{
	fputs(message, stderr);
	fputc('\n', stderr);
	exit(1);
}
