/* pipe1.c: a child writes into a pipe, its parent reads — fork copies descriptors, not the pipe.
 *
 * The book example in seed 001 (윤성우, 열혈 TCP/IP 소켓 프로그래밍, 11-1), printed there without
 * braces and headers; those come from seed 003's full copy, whose string lacks the `?` (the book's
 * "Who are you?" is kept, as in the Python port). Neither process closes the end it does not use, and
 * the parent does not wait for the child. Python port: ../pipe1.py. Catalogue: README.md.
 */
#include <stdio.h>
#include <unistd.h>
#define BUF_SIZE 30

int main(int argc, char *argv[])
{
	int fds[2];
	char str[]="Who are you?";
	char buf[BUF_SIZE];
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

	pipe(fds);
	pid=fork();
	if(pid==0)
	{
		write(fds[1], str, sizeof(str));
	}
	else
	{
		read(fds[0], buf, BUF_SIZE);
		puts(buf);
	}
	(void)argc, (void)argv; /* compile fix: unused, as printed (-Wunused-parameter) */
	return 0;
}
