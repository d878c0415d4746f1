/* pipe2.c without the child's sleep(2): the child can read back its own message.
 *
 * The variant seed 001 suggests ("sleep 함수의 호출문을 주석처리 해 버리면 문제가 있음을 쉽게 확인할 수
 * 있다") and seed 003 asks about ("위의 sleep 을 제거한다면?"). If the child reads first it takes its
 * own "Who are you?" and exits, and the parent waits in read() forever: it holds the write end itself,
 * so the pipe never reaches end of file. Run alone, the scheduler decides who reads first; the
 * ipctrace scenario forces the child first (schedule = "child-first").
 * Python port: ../pipe2_nosleep.py. Catalogue: README.md.
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
		/* sleep(2); removed: nothing now keeps the child from reading its own message */
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
