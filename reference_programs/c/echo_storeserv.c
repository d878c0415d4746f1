/* Echo server that stores messages: client handlers feed one storing process through a pipe.
 *
 * The book's echo_storeserv.c (윤성우, 열혈 TCP/IP 소켓 프로그래밍, 11-2 "메시지를 저장하는 형태의 에코
 * 서버"); seed 001 describes it without printing it, so this is the book's program, written from that
 * description and the Python port ../echo_storeserv.py, with the port's deviations and no others. Run
 * it, then one or more echo_mpclient in other terminals. Catalogue: README.md.
 *
 * The storing child counts reads, not messages: when several messages wait in the pipe one read takes
 * them together, so "10 reads" can cover more than 10 lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "common.h"

#define PORT 8080 /* the book takes the port as its only argument */
#define BUF_SIZE 100
void error_handling(char *message);
void read_childproc(int sig);
void stop(int sig);

static int serv_sock; /* for stop(): the one thing it closes */

int main(int argc, char *argv[])
{
	int clnt_sock;
	struct sockaddr_in serv_adr, clnt_adr;
	int fds[2];

	pid_t pid;
	struct sigaction act;
	socklen_t adr_sz;
	int str_len, state;
	char buf[BUF_SIZE];
	char path[4096];
	int opt = 1;

	/* deviation: --port (default 8080) and --dir (the folder of echomsg.txt) instead of `<port>` */
	check_options(argc, argv, (const char *const[]){"--port", "--dir", NULL});
	int port = port_option(argc, argv, PORT);
	const char *dir = option(argc, argv, "--dir", ".");
	setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

	act.sa_handler=read_childproc;
	sigemptyset(&act.sa_mask);
	act.sa_flags=0;
	state=sigaction(SIGCHLD, &act, 0);

	serv_sock=socket(PF_INET, SOCK_STREAM, 0);
	/* deviation: SO_REUSEADDR, so the server can be restarted at once */
	setsockopt(serv_sock, SOL_SOCKET, SO_REUSEADDR, &opt, sizeof(opt));
	memset(&serv_adr, 0, sizeof(serv_adr));
	serv_adr.sin_family=AF_INET;
	serv_adr.sin_addr.s_addr=htonl(INADDR_ANY);
	serv_adr.sin_port=htons(port);

	if(bind(serv_sock, (struct sockaddr*) &serv_adr, sizeof(serv_adr))==-1)
		error_handling("bind() error");
	if(listen(serv_sock, 5)==-1)
		error_handling("listen() error");

	pipe(fds);
	pid=fork();
	if(pid==0)
	{
		FILE * fp=fopen(in_dir(path, sizeof(path), dir, "echomsg.txt"), "wt");
		char msgbuf[BUF_SIZE];
		int i, len;

		for(i=0; i<10; i++)
		{
			len=read(fds[0], msgbuf, BUF_SIZE);
			fwrite((void*)msgbuf, 1, len, fp);
		}
		fclose(fp);
		return 0;
	}

	/* deviation: SIGTERM ends the server cleanly (the book accepts forever; ipctrace stops it so) */
	signal(SIGTERM, stop);

	while(1)
	{
		adr_sz=sizeof(clnt_adr);
		clnt_sock=accept(serv_sock, (struct sockaddr*)&clnt_adr, &adr_sz);
		if(clnt_sock==-1)
			continue;
		else
			puts("new client connected...");

		pid=fork();
		if(pid==0)
		{
			signal(SIGTERM, SIG_DFL); /* deviation: the stop handler is the acceptor's only */
			close(serv_sock);
			/* deviation: `> 0`, the book's `!= 0` would loop forever on a failing read */
			while((str_len=read(clnt_sock, buf, BUF_SIZE))>0)
			{
				write(clnt_sock, buf, str_len);
				write(fds[1], buf, str_len);
			}

			close(clnt_sock);
			puts("client disconnected...");
			return 0;
		}
		else
			close(clnt_sock);
	}
	close(serv_sock);
	(void)state; /* compile fix: set and never read, as in the book (-Wunused-but-set-variable) */
	return 0;
}

void read_childproc(int sig)
{
	pid_t pid;
	int status;
	/* deviation: reap every ended child (the book calls waitpid once: two children ending together
	 * would leave a zombie) */
	while((pid=waitpid(-1, &status, WNOHANG))>0)
		printf("removed proc id: %d \n", pid);
	(void)sig; /* compile fix: unused, as in the book (-Wunused-parameter) */
}

void stop(int sig)
{
	(void)sig;
	close(serv_sock);
	_exit(0); /* _exit: exit() is not safe in a signal handler; stdout holds nothing (line-buffered) */
}

void error_handling(char *message)
{
	fputs(message, stderr);
	fputc('\n', stderr);
	exit(1);
}
