/* The few helpers every C original shares, kept in one place so the programs read like the notes.
 *
 * They carry the deviations the C originals share with their Python ports (the reference_programs/ modules and
 * their _common.py): options instead of the notes' constants (`--port 9000`, defaults as printed), files
 * and socket names in a folder the caller chooses (`--dir`, `--path`), and a Unix socket name that a
 * crashed run left behind removed before bind. Nothing here makes an IPC call: the programs make every
 * pipe, socket, read and write call themselves, as printed. The catalogue is README.md next to this file.
 */
#ifndef IPCTRACE_COMMON_H
#define IPCTRACE_COMMON_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks that every argument is one of `known` (a NULL-terminated list) followed by its value, as the
 * Python ports' argparse does; anything else prints a usage line and exits 2. */
static inline void check_options(int argc, char *argv[], const char *const known[])
{
    for (int i = 1; i < argc; i += 2) {
        int ok = 0;
        for (const char *const *k = known; *k != NULL; k++)
            if (strcmp(argv[i], *k) == 0 && i + 1 < argc)
                ok = 1;
        if (!ok) {
            fprintf(stderr, "usage: %s", argv[0]);
            for (const char *const *k = known; *k != NULL; k++)
                fprintf(stderr, " [%s VALUE]", *k);
            fprintf(stderr, "\n%s: error: unexpected argument %s\n", argv[0], argv[i]);
            exit(2);
        }
    }
}

/* The value given after `name` (`--host 127.0.0.1`), or `fallback` when it is not given. */
static inline const char *option(int argc, char *argv[], const char *name, const char *fallback)
{
    for (int i = 1; i + 1 < argc; i += 2)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return fallback;
}

/* `--port N` as a number (default: the notes' PORT); a value that is not a port exits 2. */
static inline int port_option(int argc, char *argv[], int fallback)
{
    const char *text = option(argc, argv, "--port", NULL);
    if (text == NULL)
        return fallback;
    char *end;
    long port = strtol(text, &end, 10);
    if (*text == '\0' || *end != '\0' || port < 0 || port > 65535) {
        fprintf(stderr, "%s: error: --port %s is not a port number\n", argv[0], text);
        exit(2);
    }
    return (int)port;
}

/* `dir/name` in `out` (the ports' os.path.join), for the files the programs read and write. */
static inline const char *in_dir(char *out, size_t size, const char *dir, const char *name)
{
    if ((size_t)snprintf(out, size, "%s/%s", dir, name) >= size) {
        fprintf(stderr, "path too long: %s/%s\n", dir, name);
        exit(1);
    }
    return out;
}

/* Removes a Unix socket name a crashed earlier run left behind, so bind does not fail; only a socket is
 * removed, never another kind of file that happens to have the name (the ports' remove_stale). */
static inline void remove_stale(const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path);
}

#endif
