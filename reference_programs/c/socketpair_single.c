/* socketpair in one process: the simplest way to get two connected sockets.
 *
 * Seed 000, "socketpair 함수를 이용한 소켓 프로그램의 구현 - 프로세스 하나", as printed.
 * Python port: ../socketpair_single.py. Catalogue: README.md.
 */
#include<stdio.h>
#include<string.h>
#include <sys/socket.h>
#include <unistd.h> /* compile fix: write, read and close are declared here; the notes omit it */

int main(){
        int sd[2], result;                              // 2개의 소켓 생성 sd[0] sd[1]
        int n1, n2;
        char buf[BUFSIZ];
        char data[] = "This is from sd[0]";

        setvbuf(stdout, NULL, _IOLBF, 0); /* deviation: line-buffered as on a terminal (README.md, Output) */

        result = socketpair(PF_LOCAL, SOCK_STREAM, 0, sd);

        n1 = write(sd[0], data, strlen(data));
        printf("[send] %s\n", data);

        n2 = read(sd[1], buf, BUFSIZ);
        buf[n2] = '\0';
        printf("[received] %s\n", buf);

        close(sd[0]);
        close(sd[1]);
        (void)result, (void)n1; /* compile fix: set and never read, as printed (-Wunused-but-set-variable) */
}
