/* pipe3.c: two pipes, one per direction — the right way to talk both ways.
 *
 * The book example in seed 001 (11-1, "프로세스간 양방향 통신: 적절한 방식"), also in seed 003, whose
 * copy keeps a sleep(2) in the child; the book has none. The parent's sleep(3) only keeps it alive
 * until the child has printed. Python port: ../pipe3.py. Catalogue: README.md.
 */
#include <stdio.h>
#include <unistd.h>
#define BUF_SIZE 30

int main(int argc, char *argv[])
{
	int fds1[2], fds2[2];
	char str1[]="Who are you?";
	char str2[]="Thank you for your message";
	char buf[BUF_SIZE];
	pid_t pid;

	setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

	pipe(fds1), pipe(fds2);
	pid=fork();
	if(pid==0)
	{
		write(fds1[1], str1, sizeof(str1));
		read(fds2[0], buf, BUF_SIZE);
		printf("Child proc output: %s \n", buf);
	}
	else
	{
		read(fds1[0], buf, BUF_SIZE);
		printf("Parent proc output: %s \n", buf);
		write(fds2[1], str2, sizeof(str2));
		sleep(3);
	}
	(void)argc, (void)argv; /* compile fix: unused, as printed (-Wunused-parameter) */
	return 0;
}
