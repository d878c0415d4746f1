/* A program the native recorder cannot enter when built with -static: it prints one line. */
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    const char msg[] = "hello from a static binary\n";
    return write(1, msg, sizeof(msg) - 1) == sizeof(msg) - 1 ? 0 : 1;
}
