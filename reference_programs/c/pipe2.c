/* pipe2.c: one pipe used in both directions — the wrong way, saved only by a sleep.
 *
 * The book example in seed 001 (11-1, "프로세스간 양방향 통신: 잘못된 방식"), also in seed 003; the
 * seed's "BUF SIZE" is BUF_SIZE, and the book's `Child proc output:` (seed 003 drops the colon).
 * Data put into a pipe belongs to whichever process reads it first; this run works only because the
 * child sleeps 2 s before reading (pipe2_nosleep.c shows the race).
 * Python port: ../pipe2.py. Catalogue: README.md.
 */
#include <stdio.h>
#include <unistd.h>
#define BUF_SIZE 30

int main(int argc, char *argv[])
{
	int fds[2];
	char str1[]="Who are you?";
	char str2[]="Thank you for your message";
	char buf[BUF_SIZE];
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

	pipe(fds);
	pid=fork();
	if(pid==0)
	{
		write(fds[1], str1, sizeof(str1));
		sleep(2);
		read(fds[0], buf, BUF_SIZE);
		printf("Child proc output: %s \n",  buf);
	}
	else
	{
		read(fds[0], buf, BUF_SIZE);
		printf("Parent proc output: %s \n", buf);
		write(fds[1], str2, sizeof(str2));
		sleep(3);
	}
	(void)argc, (void)argv; /* compile fix: unused, as printed (-Wunused-parameter) */
	return 0;
}
