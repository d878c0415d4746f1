/* socketpair across fork: a parent and its child talk over one connected pair.
 *
 * Seed 000, "socketpair 함수를 이용한 소켓 프로그램의 구현 - 두 프로세스 간에", as printed: the child
 * sends first (the prose says the parent does), and the parent never waits for the child.
 * Python port: ../socketpair_fork.py. Catalogue: README.md.
 */
#include<stdio.h>
#include<string.h>
#include<sys/socket.h>
#include <unistd.h> /* compile fix: fork, getpid, read, write and close are declared here; the notes omit it */

char data1[] = "From Parent";
char data2[] = "From Child";

int main(void){
        int pid;
        int sd[2], result;
        char buf[BUFSIZ];

        setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

        result = socketpair(PF_LOCAL, SOCK_STREAM, 0, sd);

        pid = fork();
        if(pid >0){
                close(sd[1]);

                read(sd[0], buf, BUFSIZ);
                printf("[parent:%d] %s\n", getpid(), buf);

                write(sd[0], data1, sizeof(data1));

                close(sd[0]);
        } else if(pid == 0){
                close(sd[0]);
                write(sd[1], data2, sizeof(data2));

                read(sd[1], buf, BUFSIZ);
                printf("[child:%d] %s\n", getpid(), buf);

                close(sd[1]);
        } else if(pid == -1){
                perror("fork()");
        }
        (void)result; /* compile fix: set and never read, as printed (-Wunused-but-set-variable) */
}
