/* Process life: start and exit, fork (and vfork, recorded as the fork it becomes), exec and spawn, wait, kill,
 * _exit, dlopen; and who owns a process.
 *
 * One owner per process: a Python interpreter is left to the Python recorder: this library stays loaded but
 * records nothing there, and the Python recorder's start-up calls ipctrace_native_stand_down() too (an
 * embedded interpreter). IPCTRACE_NATIVE_OFF in the environment keeps it out of a process altogether.
 * Everything else is recorded here, and so is everything it starts: exec and posix_spawn keep LD_PRELOAD and
 * the log folder in the new program's environment even when the caller passes one without them.
 */
#include "ipctrace.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char *g_env[2]; /* NAME=value of IPCTRACE_LOGS, IPCTRACE_PAYLOAD_CAP */
static char g_self[1024]; /* this library's path, for LD_PRELOAD */
static char g_bootstrap[1024]; /* the Python recorder's start-up folder, for PYTHONPATH */

__attribute__((visibility("default"))) void ipctrace_native_stand_down(void) { g_on = 0; }
__attribute__((visibility("default"))) int ipctrace_native_active(void) { return g_on; }

/* -- who owns this process ---------------------------------------------------------------------------------- */

/* A Python interpreter is the Python recorder's to record, when its start-up hook runs (`python -I`, `-E` or
 * `-S` skip it, and then nothing records that process: its own libc calls, module files read and all, would
 * not be the program's story). */
static int is_python(void)
{
    return dlsym(RTLD_DEFAULT, "Py_BytesMain") != NULL || dlsym(RTLD_DEFAULT, "Py_Main") != NULL;
}

static void env_setup(void)
{
    static const char *const names[] = {"IPCTRACE_LOGS", "IPCTRACE_PAYLOAD_CAP"};
    for (int i = 0; i < 2; i++) {
        const char *v = getenv(names[i]);
        if (v != NULL && (g_env[i] = malloc(strlen(names[i]) + strlen(v) + 2)) != NULL)
            sprintf(g_env[i], "%s=%s", names[i], v);
    }
    Dl_info info;
    if (dladdr((void *)ipctrace_native_stand_down, &info) && info.dli_fname && strlen(info.dli_fname) < sizeof(g_self))
        strcpy(g_self, info.dli_fname);
    const char *pp = getenv("PYTHONPATH");
    while (pp != NULL && *pp) {
        size_t n = strcspn(pp, ":");
        if (n >= 10 && n < sizeof(g_bootstrap) && memcmp(pp + n - 10, "/bootstrap", 10) == 0) {
            memcpy(g_bootstrap, pp, n);
            g_bootstrap[n] = '\0';
            break;
        }
        pp += n + (pp[n] == ':');
    }
}

/* The environment a started program gets: the caller's, with the tracing variables put back where missing. */
struct env_fix {
    char preload[4096];
    char pythonpath[8192];
};

static int has_part(const char *list, const char *part)
{
    size_t n = strlen(part);
    for (const char *p = list; p && *p;) {
        size_t k = strcspn(p, ": ");
        if (k == n && memcmp(p, part, n) == 0)
            return 1;
        p += k + (p[k] != '\0');
    }
    return 0;
}

static size_t env_count(char *const *envp)
{
    size_t n = 0;
    while (envp != NULL && envp[n] != NULL)
        n++;
    return n;
}

#define ENV_MAX 4096 /* an environment larger than this is passed as it is (the vector lives on the stack) */

static char *const *env_fixed(char *const *envp, char **out, struct env_fix *fix)
{
    if (!g_on || !g_self[0] || env_count(envp) > ENV_MAX)
        return envp;
    size_t k = 0;
    int preload = 0, pythonpath = 0;
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
        const char *e = envp[i];
        if (strncmp(e, "IPCTRACE_LOGS=", 14) == 0 || strncmp(e, "IPCTRACE_PAYLOAD_CAP=", 21) == 0)
            continue; /* ours, given again below */
        if (strncmp(e, "LD_PRELOAD=", 11) == 0) {
            preload = 1;
            if (!has_part(e + 11, g_self) &&
                (size_t)snprintf(fix->preload, sizeof(fix->preload), "LD_PRELOAD=%s:%s", g_self, e + 11) <
                    sizeof(fix->preload))
                e = fix->preload;
        } else if (strncmp(e, "PYTHONPATH=", 11) == 0 && g_bootstrap[0]) {
            pythonpath = 1;
            if (!has_part(e + 11, g_bootstrap) &&
                (size_t)snprintf(fix->pythonpath, sizeof(fix->pythonpath), "PYTHONPATH=%s%s%s", g_bootstrap,
                                 e[11] ? ":" : "", e + 11) < sizeof(fix->pythonpath))
                e = fix->pythonpath;
        }
        out[k++] = (char *)e;
    }
    if (!preload) {
        snprintf(fix->preload, sizeof(fix->preload), "LD_PRELOAD=%s", g_self);
        out[k++] = fix->preload;
    }
    if (!pythonpath && g_bootstrap[0]) {
        snprintf(fix->pythonpath, sizeof(fix->pythonpath), "PYTHONPATH=%s", g_bootstrap);
        out[k++] = fix->pythonpath;
    }
    for (int i = 0; i < 2; i++)
        if (g_env[i] != NULL)
            out[k++] = g_env[i];
    out[k] = NULL;
    return out;
}

#define FIXED_ENV(name, envp)                                                                                    \
    char *name##_vec[(env_count(envp) > ENV_MAX ? 0 : env_count(envp)) + 8];                                     \
    struct env_fix name##_fix;                                                                                   \
    char *const *name = env_fixed(envp, name##_vec, &name##_fix)

/* -- a program the library cannot enter: said in the run's summary ---------------------------------------- */

static int find_in_path(const char *file, char *out, size_t size)
{
    if (strchr(file, '/') != NULL)
        return snprintf(out, size, "%s", file) < (int)size;
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/local/bin:/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        if ((size_t)snprintf(out, size, "%.*s/%s", (int)n, n ? p : ".", file) < size && access(out, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

static void check_target(const char *file, int search, int depth)
{
    char path[4096], why[4600];
    if (file == NULL)
        return;
    if (search) {
        if (!find_in_path(file, path, sizeof(path)))
            return;
    } else if (snprintf(path, sizeof(path), "%s", file) >= (int)sizeof(path)) {
        return;
    }
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (((st.st_mode & S_ISUID) && st.st_uid != geteuid()) || ((st.st_mode & S_ISGID) && st.st_gid != getegid())) {
        snprintf(why, sizeof(why),
                 "%s is set-user-ID or set-group-ID: the system starts it without LD_PRELOAD, so no recorder "
                 "enters it and it runs untraced",
                 path);
        notice(why);
        return;
    }
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    unsigned char buf[4096];
    long n = syscall(SYS_pread64, fd, buf, sizeof(buf), 0);
    sys_close(fd);
    if (n >= 4 && buf[0] == '#' && buf[1] == '!' && depth == 0) { /* a script: its interpreter is what starts */
        char interp[256];
        long i = 2, k = 0;
        while (i < n && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        while (i < n && buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && k < (long)sizeof(interp) - 1)
            interp[k++] = (char)buf[i++];
        interp[k] = '\0';
        check_target(interp, 0, 1);
        return;
    }
    if (n < (long)sizeof(Elf64_Ehdr) || memcmp(buf, ELFMAG, SELFMAG) != 0 || buf[EI_CLASS] != ELFCLASS64)
        return;
    Elf64_Ehdr eh;
    memcpy(&eh, buf, sizeof(eh));
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        uint64_t at = eh.e_phoff + (uint64_t)i * eh.e_phentsize;
        if (at + sizeof(Elf64_Phdr) > (uint64_t)n)
            return; /* headers past what was read: say nothing rather than guess */
        Elf64_Phdr ph;
        memcpy(&ph, buf + at, sizeof(ph));
        if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
            return; /* dynamically linked: the loader loads this library into it */
    }
    snprintf(why, sizeof(why),
             "%s is statically linked: LD_PRELOAD cannot enter it, so it runs untraced (its packets, its output "
             "and its parent's calls are still seen)",
             path);
    notice(why);
}

/* -- start and exit ----------------------------------------------------------------------------------------- */

static void argv_json(struct jb *j, char *const *argv)
{
    jb_raw(j, "[");
    for (size_t i = 0; argv != NULL && argv[i] != NULL; i++) {
        if (i)
            jb_raw(j, ",");
        jb_str(j, argv[i], strlen(argv[i]));
    }
    jb_raw(j, "]");
}

static void record_start(char **argv)
{
    JB(j, 16384);
    char cwd[4096];
    jb_raw(&j, "{\"args\":{\"how\":\"exec\",\"argv\":");
    argv_json(&j, argv);
    if (getcwd(cwd, sizeof(cwd)) != NULL) {
        jb_raw(&j, ",\"cwd\":");
        jb_str(&j, cwd, strlen(cwd));
    }
    jb_raw(&j, "}}");
    if (!jb_ok(&j)) {
        j.n = 0;
        jb_raw(&j, "{\"args\":{\"how\":\"exec\"}}");
    }
    rec_point(C_START, -1, 0, j.p, j.n, 0);
}

static void in_child(void)
{
    if (!g_on)
        return;
    log_forget_inherited();
    static const char blob[] = "{\"args\":{\"how\":\"fork\"}}";
    rec_point(C_START, -1, 0, blob, sizeof(blob) - 1, 0);
}

__attribute__((constructor)) static void init(int argc, char **argv, char **envp)
{
    (void)argc, (void)envp;
    log_setup();
    if (!g_on)
        return;
    if (is_python() || getenv("IPCTRACE_NATIVE_OFF") != NULL) {
        g_on = 0;
        return;
    }
    gate_setup(); /* under the explorer; as its fork server, this returns in each run's process */
    env_setup();
    pthread_atfork(NULL, NULL, in_child);
    record_start(argv);
    stdio_setup();
}

__attribute__((destructor)) static void fini(void)
{
    if (!g_on)
        return;
    stdio_flush(); /* what exit would write after this, written first, as the Python recorder does */
    ending_inside();
    static const char blob[] = "{\"args\":{\"how\":\"return\"}}";
    rec_point(C_EXIT, -1, 0, blob, sizeof(blob) - 1, 0);
}

static void exit_record(int status, uint64_t site)
{
    ending_inside();
    JB(j, 96);
    jb_raw(&j, "{\"args\":{\"how\":\"_exit\"},\"res\":");
    jb_int(&j, status);
    jb_raw(&j, "}");
    rec_point(C_EXIT, -1, site, j.p, j.n, 0);
}

void _exit(int status)
{
    REAL(void (*)(int), _exit);
    exit_record(status, SITE);
    real__exit(status);
    __builtin_unreachable();
}

void _Exit(int status)
{
    REAL(void (*)(int), _Exit);
    exit_record(status, SITE);
    real__Exit(status);
    __builtin_unreachable();
}

/* -- fork ------------------------------------------------------------------------------------------------------ */

static pid_t traced_fork(const char *how, uint64_t site)
{
    REAL(pid_t (*)(void), fork);
    REAL(pid_t (*)(void), _Fork);
    JB(a, 64);
    if (how[0] != 'f') {
        jb_raw(&a, "{\"args\":{\"how\":\"");
        jb_raw(&a, how);
        jb_raw(&a, "\"}}");
    }
    struct head *h = rec_begin(C_FORK, -1, F_RES, site, 0, a.p, a.n, 96, NULL, 0, 0);
    pid_t pid = how[0] == '_' ? real__Fork() : real_fork();
    int err = errno;
    if (pid == 0) {
        if (how[0] == '_')
            in_child(); /* _Fork runs no fork handlers */
        return 0; /* the child: that record is its parent's */
    }
    JB(post, 96);
    if (pid > 0) {
        jb_raw(&post, "{\"res\":");
        jb_int(&post, pid);
        if (g_on == ON_GATED)
            gate_forked(pid);
        jb_raw(&post, "}");
    }
    rec_end(h, pid < 0 ? 0 : pid, 0, pid < 0 ? err : 0, pid > 0 ? post.p : NULL, pid > 0 ? post.n : 0, NULL, 0);
    errno = err;
    return pid;
}

pid_t fork(void) { return traced_fork("fork", SITE); }
/* vfork's child borrows its parent's memory, where it would write into its parent's log: it forks instead. */
pid_t vfork(void) { return traced_fork("vfork", SITE); }
pid_t _Fork(void) { return traced_fork("_Fork", SITE); }

/* -- exec and spawn --------------------------------------------------------------------------------------------- */

static void started(uint16_t call, const char *how, const char *executable, char *const *argv, uint64_t site)
{
    JB(j, 16384);
    jb_raw(&j, "{\"args\":{\"how\":\"");
    jb_raw(&j, how);
    jb_raw(&j, "\",\"executable\":");
    jb_str(&j, executable, executable ? strlen(executable) : 0);
    if (argv != NULL) {
        jb_raw(&j, ",\"argv\":");
        argv_json(&j, argv);
    }
    jb_raw(&j, "}}");
    if (jb_ok(&j))
        rec_point(call, -1, site, j.p, j.n, 0);
}

static void failed_start(uint16_t call, const char *how, int err, uint64_t site)
{
    JB(j, 96);
    jb_raw(&j, "{\"args\":{\"how\":\"");
    jb_raw(&j, how);
    jb_raw(&j, "\"}}");
    struct head *h = rec_begin(call, -1, 0, site, 0, j.p, j.n, 0, NULL, 0, 0);
    rec_end(h, 0, 0, err, NULL, 0, NULL, 0);
}

static int exec_impl(const char *file, char *const argv[], char *const envp[], int search, int fd, uint64_t site)
{
    REAL(int (*)(const char *, char *const[], char *const[]), execve);
    REAL(int (*)(const char *, char *const[], char *const[]), execvpe);
    REAL(int (*)(int, char *const[], char *const[]), fexecve);
    if (g_on) {
        started(C_EXEC, "exec", file, argv, site);
        if (fd < 0)
            check_target(file, search, 0);
    }
    FIXED_ENV(env, envp);
    int r = fd >= 0 ? real_fexecve(fd, argv, env) : search ? real_execvpe(file, argv, env) : real_execve(file, argv, env);
    int err = errno;
    if (g_on)
        failed_start(C_EXEC, "exec", err, site);
    errno = err;
    return r;
}

int execve(const char *path, char *const argv[], char *const envp[]) { return exec_impl(path, argv, envp, 0, -1, SITE); }
int execv(const char *path, char *const argv[]) { return exec_impl(path, argv, environ, 0, -1, SITE); }
int execvp(const char *file, char *const argv[]) { return exec_impl(file, argv, environ, 1, -1, SITE); }
int execvpe(const char *file, char *const argv[], char *const envp[]) { return exec_impl(file, argv, envp, 1, -1, SITE); }
int fexecve(int fd, char *const argv[], char *const envp[])
{
    char name[32] = "fd ";
    name[3 + put_num(name + 3, (uint64_t)fd)] = '\0'; /* what the record can say of a program given by descriptor */
    return exec_impl(name, argv, envp, 0, fd, SITE);
}

/* execl, execlp, execle: the arguments gathered into a vector on the stack. */
#define GATHER(first, ap, vec, extra)                                                                            \
    size_t vec##_n = 1;                                                                                           \
    va_start(ap, first);                                                                                          \
    while (va_arg(ap, char *) != NULL)                                                                            \
        vec##_n++;                                                                                                \
    va_end(ap);                                                                                                   \
    char *vec[vec##_n + 1];                                                                                       \
    vec[0] = (char *)first;                                                                                       \
    va_start(ap, first);                                                                                          \
    for (size_t i = 1; i <= vec##_n; i++)                                                                         \
        vec[i] = i < vec##_n ? va_arg(ap, char *) : NULL;                                                         \
    extra;                                                                                                        \
    va_end(ap)

int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    GATHER(arg, ap, argv, (void)0);
    return exec_impl(path, argv, environ, 0, -1, SITE);
}

int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    GATHER(arg, ap, argv, (void)0);
    return exec_impl(file, argv, environ, 1, -1, SITE);
}

int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    char **envp;
    GATHER(arg, ap, argv, (void)va_arg(ap, char *); envp = va_arg(ap, char **));
    return exec_impl(path, argv, envp, 0, -1, SITE);
}

static int spawn_impl(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
                      const posix_spawnattr_t *attr, char *const argv[], char *const envp[], int search,
                      uint64_t site)
{
    REAL(int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                 char *const[], char *const[]),
         posix_spawn);
    REAL(int (*)(pid_t *, const char *, const posix_spawn_file_actions_t *, const posix_spawnattr_t *,
                 char *const[], char *const[]),
         posix_spawnp);
    if (g_on) {
        started(C_SPAWN, "posix_spawn", file, argv, site);
        check_target(file, search, 0);
    }
    FIXED_ENV(env, envp);
    int r = search ? real_posix_spawnp(pid, file, fa, attr, argv, env) : real_posix_spawn(pid, file, fa, attr, argv, env);
    if (r != 0 && g_on)
        failed_start(C_SPAWN, "posix_spawn", r, site);
    return r;
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                char *const argv[], char *const envp[])
{
    return spawn_impl(pid, path, fa, attr, argv, envp, 0, SITE);
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                 char *const argv[], char *const envp[])
{
    return spawn_impl(pid, file, fa, attr, argv, envp, 1, SITE);
}

static void command_started(const char *how, const char *command, uint64_t site)
{
    JB(j, 8192);
    jb_raw(&j, "{\"args\":{\"how\":\"");
    jb_raw(&j, how);
    jb_raw(&j, "\",\"command\":");
    jb_str(&j, command, command ? strlen(command) : 0);
    jb_raw(&j, "}}");
    if (jb_ok(&j))
        rec_point(C_SPAWN, -1, site, j.p, j.n, 0);
}

int system(const char *command)
{
    REAL(int (*)(const char *), system);
    UNRECORDED(real_system(command));
    if (command != NULL)
        command_started("system", command, SITE);
    return real_system(command);
}

FILE *popen(const char *command, const char *mode)
{
    REAL(FILE * (*)(const char *, const char *), popen);
    UNRECORDED(real_popen(command, mode));
    command_started("popen", command, SITE);
    return real_popen(command, mode);
}

/* -- wait, kill ------------------------------------------------------------------------------------------------ */

static pid_t traced_wait(uint16_t call, pid_t pid, int *status, int options, void *usage, uint64_t site)
{
    REAL(pid_t (*)(pid_t, int *, int, void *), wait4);
    UNRECORDED(real_wait4(pid, status, options, usage));
    JB(a, 96);
    if (call == C_WAITPID) {
        jb_raw(&a, "{\"args\":{\"pid\":");
        jb_int(&a, pid);
        jb_raw(&a, ",\"options\":");
        jb_int(&a, options);
        jb_raw(&a, "}}");
    }
    struct head *h = rec_begin(call, -1, 0, site, 0, a.p, a.n, 64, NULL, 0, 0);
    int own = 0;
    pid_t got = real_wait4(pid, status != NULL ? status : &own, options, usage);
    int err = errno;
    JB(post, 64);
    if (got >= 0) {
        jb_raw(&post, "{\"res\":[");
        jb_int(&post, got);
        jb_raw(&post, ",");
        jb_int(&post, got > 0 ? (status != NULL ? *status : own) : 0);
        jb_raw(&post, "]}");
    }
    rec_end(h, 0, 0, got < 0 ? err : 0, got >= 0 ? post.p : NULL, got >= 0 ? post.n : 0, NULL, 0);
    errno = err;
    return got;
}

pid_t wait(int *status) { return traced_wait(C_WAIT, -1, status, 0, NULL, SITE); }
pid_t waitpid(pid_t pid, int *status, int options) { return traced_wait(C_WAITPID, pid, status, options, NULL, SITE); }
pid_t wait3(int *status, int options, struct rusage *usage)
{
    return traced_wait(C_WAITPID, -1, status, options, usage, SITE);
}
pid_t wait4(pid_t pid, int *status, int options, struct rusage *usage)
{
    return traced_wait(C_WAITPID, pid, status, options, usage, SITE);
}

int kill(pid_t pid, int sig)
{
    REAL(int (*)(pid_t, int), kill);
    UNRECORDED(real_kill(pid, sig));
    JB(a, 96);
    jb_raw(&a, "{\"args\":{\"pid\":");
    jb_int(&a, pid);
    jb_raw(&a, ",\"sig\":");
    jb_int(&a, sig);
    jb_raw(&a, "}}");
    struct head *h = rec_begin(C_KILL, -1, 0, SITE, 0, a.p, a.n, 0, NULL, 0, 0);
    int r = real_kill(pid, sig);
    int err = errno;
    rec_end(h, 0, 0, r < 0 ? err : 0, NULL, 0, NULL, 0);
    errno = err;
    return r;
}

/* -- libraries loaded later: the map a reader turns return addresses with ------------------------------------- */

void *dlopen(const char *file, int mode)
{
    REAL(void *(*)(const char *, int), dlopen);
    void *handle = real_dlopen(file, mode);
    if (handle != NULL && g_on) {
        int saved = errno;
        maps_again();
        errno = saved;
    }
    return handle;
}
