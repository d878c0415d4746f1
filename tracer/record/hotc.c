/* The recorder's hot-path wrappers, compiled: what hot_generated.py's functions do, without bytecode.
 *
 * Each Wrapper replaces one generated function (os.write, socket.socket.recv, ...; hotpath.SPECS) and
 * writes the same record byte for byte (FORMAT.md): the thread's log, the fd table, the call site's key
 * (id(code) + f_lasti, the Python wrappers' key: other code reads sites by it), the per-site head cache
 * of heads.py (a miss calls the same send_entry/receive_entry), the reservation, the stores, the call,
 * its end. What is not the common case (a thread's first event, the explorer's gate, flags, keywords,
 * arguments of other types) is handed, before anything is recorded, to the generated Python wrapper
 * itself: one implementation of the rare paths. hot.py chooses between this and the Python wrappers.
 * A log's cursor and head caches are C fields here (LogState, ThreadLog's base) and each wrapper keeps
 * the last head it used: a call in a loop makes no attribute lookup, no key and no dict look-up for them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <sys/mman.h>

#include "hotc_layout.h" /* the record's offsets, generated from layout.py (hotpath.layout_header) */

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the log is little-endian and integers are stored as they are in memory"
#endif

/* How a wrapper's arguments are read; one per generated wrapper (hotpath.SPECS). */
typedef enum { OS_WRITE, OS_READ, SOCKET_SEND, SOCKET_SENDALL, SOCKET_RECV, SOCKET_RECV_INTO,
               FILE_WRITE, FILE_READINTO, FILE_READ } Form;

static const struct { const char *name; Form form; int send; } FORMS[] = {
    {"os_write", OS_WRITE, 1},           {"os_read", OS_READ, 0},
    {"socket_send", SOCKET_SEND, 1},     {"socket_sendall", SOCKET_SENDALL, 1},
    {"socket_recv", SOCKET_RECV, 0},     {"socket_recv_into", SOCKET_RECV_INTO, 0},
    {"file_write", FILE_WRITE, 1},       {"file_readinto", FILE_READINTO, 0},
    {"file_read", FILE_READ, 0},
};

/* The recorder's objects a wrapper uses: the same ones the generated module uses. Each wrapper holds its
 * own: a traced program that imports ipctrace again gets fresh modules (the start-up hook drops them
 * from sys.modules) and this extension's one copy, whose wrappers must keep the recorder's objects. */
typedef struct {
    PyObject *tls, *log_class, *table, *endpoint, *send_entry, *receive_entry, *failed, *problem;
    long long failed_pos; /* core.FAILED: a record that could not be begun */
} Shared;

static PyObject *s_log, *s_gate, *s_grow, *s_fileno;

/* The part of a thread's log every recorded call reads and advances (log.py's ThreadLog derives from this
 * type): C fields, so a compiled wrapper takes them with no attribute lookup (eight per call before, a
 * fifth of a traced send's cost), while Python reads and sets them as attributes, as it would __slots__. */
typedef struct {
    PyObject_HEAD
    long long pos, limit;    /* where the next record goes; the end of the reserved chunk */
    unsigned long long addr; /* the mapping's address */
    char alive;              /* False once the log is retired: nothing is written or completed */
    PyObject *caches;        /* one record head cache (a dict) per hot wrapper (heads.py) */
} LogState;

static PyTypeObject LogStateType;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    Form form;
    int send;
    Py_ssize_t slot_index; /* this wrapper's head cache in ThreadLog.caches */
    PyObject *memo_log, *memo_entry; /* the last head entry used, and its log and site (head_entry) */
    unsigned long long memo_key;
    PyObject *call_id, *slot, *orig, *python, *problem_text;
    PyObject *name, *qualname, *doc, *module;
    Shared S;
} Wrapper;

static inline long long now_ns(void)
{
    struct timespec ts; /* time.time_ns(): CLOCK_REALTIME */
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void store_i64(char *at, long long v) { memcpy(at, &v, 8); }
static inline void store_i32(char *at, int32_t v) { memcpy(at, &v, 4); }
static inline void store_u32(char *at, uint32_t v) { memcpy(at, &v, 4); }

/* The generated wrapper's `except Exception:` — anything else (KeyboardInterrupt from a signal handler
 * that ran in Python code called here) goes on up, as it would from the Python wrapper. */
static int recoverable(void) { return PyErr_ExceptionMatches(PyExc_Exception); }

/* Call fn(args) with `exc` as the handled exception (sys.exc_info()), as in the Python wrapper's except
 * block: the slot the interpreter itself sets for one, put back as it was after. */
static PyObject *call_handling(PyObject *fn, PyObject *const *args, size_t n, PyObject *exc)
{
    _PyErr_StackItem *item = PyThreadState_Get()->exc_info;
    PyObject *before = item->exc_value;
    item->exc_value = Py_NewRef(exc);
    PyObject *got = PyObject_Vectorcall(fn, args, n, NULL);
    Py_XSETREF(item->exc_value, before);
    return got;
}

/* Take the raised exception out, normalized, with its traceback (PyErr_Restore puts it back). */
static void fetch(PyObject **type, PyObject **value, PyObject **tb)
{
    PyErr_Fetch(type, value, tb);
    PyErr_NormalizeException(type, value, tb);
    if (*tb != NULL)
        PyException_SetTraceback(*value, *tb);
}

/* core.problem(lg, "could not record ..."), with the recorder's own exception handled if there is one. */
static int say_problem(Wrapper *w, PyObject *lg, int with_exception)
{
    PyObject *args[2] = {lg, w->problem_text};
    PyObject *got;
    if (with_exception) { /* the recorder's own error, handled and dropped as `except Exception:` does */
        PyObject *type, *value, *tb;
        fetch(&type, &value, &tb);
        got = call_handling(w->S.problem, args, 2, value);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    } else {
        got = PyObject_Vectorcall(w->S.problem, args, 2, NULL);
    }
    if (got == NULL)
        return -1;
    Py_DECREF(got);
    return 0;
}

/* What one call is about, read from its arguments. */
typedef struct {
    PyObject *fd;      /* owned */
    Py_ssize_t n;      /* bytes sent, or asked */
    PyObject *n_obj;   /* owned: n as the Python wrapper has it */
    const char *data;  /* a send's bytes */
    Py_buffer view;    /* a buffer argument (held through the call, as the Python wrapper's view is) */
    int has_view;
} Args;

static void args_release(Args *a)
{
    Py_XDECREF(a->fd);
    Py_XDECREF(a->n_obj);
    if (a->has_view)
        PyBuffer_Release(&a->view);
}

static int exact_int(PyObject *o, Py_ssize_t *out)
{
    if (!PyLong_CheckExact(o))
        return 0;
    *out = PyLong_AsSsize_t(o);
    if (*out == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

/* Can the call take the compiled path? Checks only what needs no side effect; 0: hand it to Python. */
static int shape_is_common(Wrapper *w, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    Py_ssize_t v;
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) > 0)
        return 0;
    if (w->form == SOCKET_RECV_INTO)
        return (nargs == 2 || (nargs == 3 && exact_int(args[2], &v))) && PyObject_CheckBuffer(args[1]);
    if (nargs != 2)
        return 0; /* flags (the flagged forms), file_read's readall(): the Python wrapper's own paths */
    switch (w->form) {
    case OS_WRITE:
        return PyLong_CheckExact(args[0]);
    case OS_READ: /* fd 0: the Python wrapper, which first marks a wait for scripted input (core.stdin_wait) */
        return exact_int(args[0], &v) && v != 0 && exact_int(args[1], &v);
    case SOCKET_RECV:
        return exact_int(args[1], &v);
    case FILE_READ:
        return exact_int(args[1], &v) && v >= 0;
    case FILE_READINTO:
        return PyObject_CheckBuffer(args[1]);
    default:
        return PyBytes_CheckExact(args[1]) || PyObject_CheckBuffer(args[1]);
    }
}

/* fd, n and the data of a call of the common shape. 1: read; 0: hand it to Python; -1: an error to raise. */
static int read_args(Wrapper *w, PyObject *const *args, Py_ssize_t nargs, Args *a)
{
    if (w->form == OS_WRITE || w->form == OS_READ) {
        a->fd = Py_NewRef(args[0]);
    } else {
        a->fd = PyObject_CallMethodNoArgs(args[0], s_fileno);
        if (a->fd == NULL)
            return recoverable() ? (PyErr_Clear(), 0) : -1;
    }
    Py_ssize_t fd;
    if (!exact_int(a->fd, &fd) || fd < INT32_MIN || fd > INT32_MAX)
        return 0;
    PyObject *x = args[1];
    if (w->send) {
        if (PyBytes_CheckExact(x)) {
            a->data = PyBytes_AS_STRING(x);
            a->n = PyBytes_GET_SIZE(x);
        } else {
            if (PyObject_GetBuffer(x, &a->view, PyBUF_SIMPLE) < 0)
                return recoverable() ? (PyErr_Clear(), 0) : -1;
            a->has_view = 1;
            a->data = a->view.buf;
            a->n = a->view.len;
        }
        a->n_obj = PyLong_FromSsize_t(a->n);
        return a->n_obj == NULL ? -1 : 1;
    }
    if (w->form == SOCKET_RECV_INTO || w->form == FILE_READINTO) {
        if (PyObject_GetBuffer(x, &a->view, PyBUF_SIMPLE) < 0)
            return recoverable() ? (PyErr_Clear(), 0) : -1;
        a->has_view = 1;
        Py_ssize_t nbytes = 0;
        if (nargs == 3)
            exact_int(args[2], &nbytes);
        a->n = nbytes ? nbytes : a->view.len; /* `n = nbytes or len(view)` */
        a->n_obj = PyLong_FromSsize_t(a->n);
        return a->n_obj == NULL ? -1 : 1;
    }
    exact_int(x, &a->n);
    a->n_obj = Py_NewRef(x);
    return 1;
}

static int long_is(PyObject *o, Py_ssize_t v)
{
    if (!PyLong_CheckExact(o))
        return 0;
    Py_ssize_t got = PyLong_AsSsize_t(o);
    if (got == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return got == v;
}

/* Is `c` a head entry for this endpoint, descriptor and size? */
static int entry_fits(PyObject *c, PyObject *ep, Args *a)
{
    if (!(PyTuple_CheckExact(c) && PyTuple_GET_SIZE(c) == 8 && PyTuple_GET_ITEM(c, 0) == ep))
        return 0;
    Py_ssize_t fd = PyLong_AsSsize_t(a->fd);
    return long_is(PyTuple_GET_ITEM(c, 1), fd) && long_is(PyTuple_GET_ITEM(c, 2), a->n);
}

/* The record's head for this site, descriptor, endpoint and size: the cached one, or heads.py's new one.
 * The wrapper keeps the last one it used (a loop calls it from one site, in one thread, again and again):
 * the same log and site take it without a key made and looked up. An entry depends on nothing else (the
 * site's number is the log's for good), so it is the one the cache holds or would make again. */
static PyObject *head_entry(Wrapper *w, LogState *lg, Args *a, PyObject *ep)
{
    PyFrameObject *f = PyEval_GetFrame(); /* the caller's frame: a C function has none of its own */
    unsigned long long k = 0;             /* 0: called from C with no Python frame (a flush at interpreter exit) */
    if (f != NULL) {
        PyCodeObject *code = PyFrame_GetCode(f);
        k = (unsigned long long)(uintptr_t)code + (long long)PyFrame_GetLasti(f);
        Py_DECREF(code);
    }
    if (w->memo_log == (PyObject *)lg && w->memo_key == k && entry_fits(w->memo_entry, ep, a))
        return Py_NewRef(w->memo_entry);
    PyObject *key = PyLong_FromUnsignedLongLong(k);
    if (key == NULL)
        return NULL;
    PyObject *caches = lg->caches;
    if (caches == NULL) {
        Py_DECREF(key);
        return PyErr_Format(PyExc_AttributeError, "the log has no head caches");
    }
    Py_INCREF(caches); /* held: code run later may replace them */
    PyObject *entry = NULL;
    PyObject *cache;
    if (PyList_CheckExact(caches) && w->slot_index < PyList_GET_SIZE(caches))
        cache = Py_NewRef(PyList_GET_ITEM(caches, w->slot_index));
    else if ((cache = PyObject_GetItem(caches, w->slot)) == NULL)
        goto done;
    PyObject *c = PyDict_Check(cache) ? PyDict_GetItemWithError(cache, key) : NULL;
    if (c == NULL && PyErr_Occurred())
        goto done;
    if (c != NULL && entry_fits(c, ep, a)) {
        entry = Py_NewRef(c); /* held: code run later may replace the cache's entry */
    } else {
        PyObject *argv[8] = {(PyObject *)lg, cache,     key, f == NULL ? Py_None : (PyObject *)f,
                             w->call_id,     a->fd,     ep,  a->n_obj};
        entry = PyObject_Vectorcall(w->send ? w->S.send_entry : w->S.receive_entry, argv, 8, NULL);
        if (entry != NULL && !(PyTuple_CheckExact(entry) && PyTuple_GET_SIZE(entry) == 8)) {
            Py_SETREF(entry, NULL);
            PyErr_SetString(PyExc_TypeError, "a record head entry is not an 8-tuple");
        }
    }
    if (entry != NULL) {
        Py_XSETREF(w->memo_log, Py_NewRef((PyObject *)lg)); /* held, so no other log takes its address */
        Py_XSETREF(w->memo_entry, Py_NewRef(entry));
        w->memo_key = k;
    }
done:
    Py_XDECREF(cache);
    Py_DECREF(caches);
    Py_DECREF(key);
    return entry;
}

/* Reserve `length` bytes: read and advance the cursor with no Python code in between (signal handlers
 * run only between bytecodes, and none runs here); past the reserved chunk, the log's own _grow_reserve. */
static long long reserve(LogState *lg, long long length, long long failed)
{
    long long pos = lg->pos;
    if (pos + length <= lg->limit) {
        lg->pos = pos + length;
        return pos;
    }
    PyObject *len = PyLong_FromLongLong(length);
    if (len == NULL)
        return failed - 1;
    PyObject *got = PyObject_CallMethodOneArg((PyObject *)lg, s_grow, len);
    Py_DECREF(len);
    if (got == NULL)
        return failed - 1;
    pos = PyLong_AsLongLong(got);
    Py_DECREF(got);
    return (pos == -1 && PyErr_Occurred()) ? failed - 1 : pos;
}

static int bytes_of(PyObject *o, Py_ssize_t size, const char **out)
{
    if (!PyBytes_Check(o) || PyBytes_GET_SIZE(o) != size) {
        PyErr_SetString(PyExc_TypeError, "a record head part has the wrong size");
        return -1;
    }
    *out = PyBytes_AS_STRING(o);
    return 0;
}

/* Begin the record: its head (cached parts and t0), and a send's payload. Returns where, or -1. */
static long long begin(Wrapper *w, LogState *lg, Args *a, PyObject *c, char **base)
{
    long long failed = w->S.failed_pos;
    long long length = PyLong_AsLongLong(PyTuple_GET_ITEM(c, 6));
    if (length == -1 && PyErr_Occurred())
        return failed - 1;
    const char *first, *rest;
    if (bytes_of(PyTuple_GET_ITEM(c, 4), 8, &first) < 0 ||
        bytes_of(PyTuple_GET_ITEM(c, 5), w->send ? HOT_HEAD - HOT_REST_AT : HOT_DATA_LEN_AT + 4 - HOT_REST_AT,
                 &rest) < 0)
        return failed - 1;
    /* Everything that can fail comes before the reservation: a head reserved is never left all zero
     * (readers stop at a zero head), so from the reservation on only stores follow. */
    *base = (char *)(uintptr_t)lg->addr;
    if (*base == NULL) {
        PyErr_SetString(PyExc_ValueError, "the log is not mapped");
        return failed - 1;
    }
    long long pos = reserve(lg, length, w->S.failed_pos);
    if (pos < 0)
        return pos;
    char *r = *base + pos;
    memcpy(r, first, 8); /* call, state = in progress, kind, length */
    store_i64(r + HOT_T0_AT, now_ns());
    if (w->send) {
        /* fd ... data_len, and res and size as a send that moves every byte ends; then the payload */
        memcpy(r + HOT_REST_AT, rest, HOT_HEAD - HOT_REST_AT);
        uint32_t dlen;
        memcpy(&dlen, rest + HOT_DATA_LEN_AT - HOT_REST_AT, 4);
        Py_ssize_t have = a->n < (Py_ssize_t)dlen ? a->n : (Py_ssize_t)dlen;
        memcpy(r + HOT_HEAD, a->data, have);
        memset(r + HOT_HEAD + have, 0, dlen - have);
    } else {
        memcpy(r + HOT_REST_AT, rest, HOT_DATA_LEN_AT + 4 - HOT_REST_AT);
    }
    return pos;
}

/* The call raised: hot_generated._failed records it (t1, the error code) as the Python wrapper does,
 * then the same exception goes on to the program. */
static void record_failure(Wrapper *w, PyObject *lg, long long pos)
{
    PyObject *type, *value, *tb;
    fetch(&type, &value, &tb);
    PyObject *p = PyLong_FromLongLong(pos);
    PyObject *args[3] = {lg, p, value};
    PyObject *got = p == NULL ? NULL : call_handling(w->S.failed, args, 3, value);
    Py_XDECREF(p);
    if (got == NULL) { /* a BaseException out of _failed goes up instead, as it would from Python */
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
        return;
    }
    Py_DECREF(got);
    PyErr_Restore(type, value, tb);
}

static int as_size(PyObject *o, long long *out)
{
    if (!PyLong_Check(o)) {
        PyErr_SetString(PyExc_TypeError, "required argument is not an integer");
        return -1;
    }
    *out = PyLong_AsLongLong(o);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* Complete a send: t1 alone when it moved every byte (res and size were stored with the head). */
static int end_send(Wrapper *w, char *r, Args *a, PyObject *res, long long t1)
{
    long long size;
    if (w->form == SOCKET_SENDALL) {
        size = a->n;
    } else if (w->form == FILE_WRITE && (res == Py_None || res == Py_False)) {
        size = 0; /* `res or 0`: a non-blocking write that took nothing */
    } else if (as_size(res, &size) < 0) {
        return -1;
    }
    store_i64(r + HOT_T1_AT, t1);
    if (size != a->n) {
        store_i64(r + HOT_RES_AT, size);
        store_i64(r + HOT_SIZE_AT, size);
    }
    return 0;
}

/* Complete a receive: the first `room` bytes got (or all when fewer), data_len, t1, res, size. */
static int end_receive(Wrapper *w, char *r, Args *a, PyObject *c, PyObject *result, long long t1)
{
    const char *data;
    Py_ssize_t have;
    long long size;
    if (w->form == SOCKET_RECV_INTO || w->form == FILE_READINTO) {
        if (w->form == FILE_READINTO && result == Py_None)
            goto nothing;
        if (as_size(result, &size) < 0)
            return -1;
        data = a->view.buf;
        have = a->view.len;
    } else {
        if (w->form == FILE_READ && result == Py_None)
            goto nothing;
        if (!PyBytes_Check(result)) {
            PyErr_SetString(PyExc_TypeError, "argument for 's' must be a bytes object");
            return -1;
        }
        data = PyBytes_AS_STRING(result);
        size = have = PyBytes_GET_SIZE(result);
    }
    long long room = PyLong_AsLongLong(PyTuple_GET_ITEM(c, 7));
    if (room == -1 && PyErr_Occurred())
        return -1;
    long long kept = size < room ? size : room;
    if (kept < 0 || kept > UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "argument out of range");
        return -1;
    }
    if (have > kept)
        have = (Py_ssize_t)kept;
    memcpy(r + HOT_HEAD, data, have);
    memset(r + HOT_HEAD + have, 0, kept - have);
    store_u32(r + HOT_DATA_LEN_AT, (uint32_t)kept);
    memset(r + HOT_DATA_LEN_AT + 4, 0, HOT_T1_AT - HOT_DATA_LEN_AT - 4); /* blob lengths: none */
    store_i64(r + HOT_T1_AT, t1);
    store_i64(r + HOT_RES_AT, size);
    store_i64(r + HOT_SIZE_AT, size);
    memset(r + HOT_ERR_AT, 0, HOT_HEAD - HOT_ERR_AT); /* err, post_cap */
    return 0;
nothing: /* a non-blocking file object's read with nothing there: no bytes, EAGAIN */
    store_i64(r + HOT_T1_AT, t1);
    store_i32(r + HOT_ERR_AT, HOT_EAGAIN);
    return 0;
}

/* This thread's log as TLS.log last gave it: a threading.local look-up is dear next to the rest of a call.
 * It is kept while the same thread state asks through the same TLS and no thread's log was set or dropped
 * since (log.py calls logs_changed() whenever it sets or deletes TLS.log; a forked child drops its copy). */
static unsigned long long g_logs_changed;
static __thread PyObject *t_log, *t_tls;
static __thread unsigned long long t_changed, t_tstate;

static PyObject *logs_changed(PyObject *self, PyObject *unused)
{
    g_logs_changed++;
    Py_RETURN_NONE;
}

/* TLS.log (a new reference), or NULL with the look-up's error. */
static PyObject *thread_log(Wrapper *w)
{
    PyThreadState *ts = PyThreadState_Get();
    if (t_log != NULL && t_tls == w->S.tls && t_tstate == ts->id && t_changed == g_logs_changed)
        return Py_NewRef(t_log);
    PyObject *lg = PyObject_GetAttr(w->S.tls, s_log);
    if (lg != NULL && PyObject_TypeCheck(lg, &LogStateType)) {
        Py_XSETREF(t_log, Py_NewRef(lg)); /* held: no other object takes its address while it is kept */
        t_tls = w->S.tls;
        t_tstate = ts->id;
        t_changed = g_logs_changed;
    }
    return lg;
}

static PyObject *hot_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    Wrapper *w = (Wrapper *)self;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (!shape_is_common(w, args, nargs, kwnames))
        return PyObject_Vectorcall(w->python, args, nargsf, kwnames);
    PyObject *lg = thread_log(w);
    if (lg == NULL) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear(); /* the thread's first event: the Python wrapper makes its log */
        return PyObject_Vectorcall(w->python, args, nargsf, kwnames);
    }
    if (lg == Py_None) {
        Py_DECREF(lg);
        return PyObject_Vectorcall(w->orig, args, nargs, NULL);
    }
    if (!PyObject_TypeCheck(lg, &LogStateType)) { /* not a ThreadLog: whatever it is, Python says so */
        Py_DECREF(lg);
        return PyObject_Vectorcall(w->python, args, nargsf, kwnames);
    }
    LogState *st = (LogState *)lg;
    PyObject *gate = PyObject_GetAttr(w->S.log_class, s_gate);
    int gated = gate != Py_None;
    Py_XDECREF(gate);
    if (gated) { /* the explorer's gate, or no way to read it: the Python wrapper's path */
        PyErr_Clear();
        Py_DECREF(lg);
        return PyObject_Vectorcall(w->python, args, nargsf, kwnames);
    }
    Args a = {0};
    int got = read_args(w, args, nargs, &a);
    if (got <= 0) {
        args_release(&a);
        Py_DECREF(lg);
        return got < 0 ? NULL : PyObject_Vectorcall(w->python, args, nargsf, kwnames);
    }

    /* From here on, as the Python wrapper's `try: ... except Exception: pos = _FAILED`. */
    long long pos = w->S.failed_pos;
    char *base = NULL;
    PyObject *c = NULL, *ep = PyDict_GetItemWithError(w->S.table, a.fd);
    if (ep != NULL && PyObject_IsTrue(ep) == 1)
        Py_INCREF(ep);
    else
        ep = PyErr_Occurred() ? NULL : PyObject_CallOneArg(w->S.endpoint, a.fd);
    if (ep != NULL)
        c = head_entry(w, st, &a, ep);
    if (c != NULL)
        pos = PyTuple_GET_ITEM(c, 3) == Py_None ? -1 : begin(w, st, &a, c, &base);
    if (PyErr_Occurred()) {
        if (!recoverable())
            goto fail;
        PyErr_Clear();
        pos = w->S.failed_pos;
    }

    PyObject *res = PyObject_Vectorcall(w->orig, args, nargs, NULL);
    if (res == NULL) {
        if (pos >= 0)
            record_failure(w, lg, pos);
        goto fail;
    }
    if (pos >= 0) {
        long long t1 = now_ns();
        int live = st->alive ? 1 : 0;
        if (live == 1) {
            char *r = base + pos;
            live = (w->send ? end_send(w, r, &a, res, t1) : end_receive(w, r, &a, c, res, t1)) < 0 ? -1 : 1;
            if (live == 1)
                r[HOT_STATE_AT] = HOT_DONE; /* last: a reader trusts the end fields from here on */
        }
        if (live < 0 && (!recoverable() || say_problem(w, lg, 1) < 0)) {
            Py_DECREF(res);
            goto fail;
        }
    } else if (pos == w->S.failed_pos && say_problem(w, lg, 0) < 0) {
        Py_DECREF(res);
        goto fail;
    }
    Py_XDECREF(c);
    Py_XDECREF(ep);
    args_release(&a);
    Py_DECREF(lg);
    return res;
fail:
    Py_XDECREF(c);
    Py_XDECREF(ep);
    args_release(&a);
    Py_DECREF(lg);
    return NULL;
}

/* -- the Wrapper type: a callable that binds as a method (socket.socket.send, TracedFileIO.write) -- */

static PyObject *wrapper_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    const char *name;
    PyObject *call_id, *slot, *orig, *python, *problem_text, *shared;
    static char *kw[] = {"name", "call_id", "slot", "orig", "python", "problem", "shared", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "sO!O!OOUO!", kw, &name, &PyLong_Type, &call_id, &PyLong_Type,
                                     &slot, &orig, &python, &problem_text, &PyTuple_Type, &shared))
        return NULL;
    Shared S;
    if (!PyArg_ParseTuple(shared, "OOO!OOOOOL;shared: (TLS, ThreadLog, TABLE, endpoint, send_entry, receive_entry, "
                          "failed, problem, FAILED)", &S.tls, &S.log_class, &PyDict_Type, &S.table, &S.endpoint,
                          &S.send_entry, &S.receive_entry, &S.failed, &S.problem, &S.failed_pos))
        return NULL;
    size_t i = 0;
    while (i < sizeof FORMS / sizeof FORMS[0] && strcmp(FORMS[i].name, name) != 0)
        i++;
    if (i == sizeof FORMS / sizeof FORMS[0])
        return PyErr_Format(PyExc_ValueError, "no compiled hot-path wrapper is named %s", name);
    Wrapper *w = (Wrapper *)type->tp_alloc(type, 0);
    if (w == NULL)
        return NULL;
    w->vectorcall = hot_call;
    w->form = FORMS[i].form;
    w->send = FORMS[i].send;
    w->call_id = Py_NewRef(call_id);
    w->slot = Py_NewRef(slot);
    w->slot_index = PyLong_AsSsize_t(slot);
    if (w->slot_index < 0) {
        Py_DECREF(w);
        return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "a wrapper's slot is negative");
    }
    w->orig = Py_NewRef(orig);
    w->python = Py_NewRef(python);
    w->problem_text = Py_NewRef(problem_text);
    w->S = S;
    PyObject **held[] = {&w->S.tls, &w->S.log_class, &w->S.table, &w->S.endpoint, &w->S.send_entry,
                         &w->S.receive_entry, &w->S.failed, &w->S.problem};
    for (size_t k = 0; k < sizeof held / sizeof held[0]; k++)
        Py_INCREF(*held[k]);
    /* what functools.update_wrapper gives the Python wrappers: the original's name and doc */
    w->name = PyObject_GetAttrString(orig, "__name__");
    w->qualname = PyObject_GetAttrString(orig, "__qualname__");
    w->doc = PyObject_GetAttrString(orig, "__doc__");
    w->module = PyObject_GetAttrString(python, "__module__");
    if (w->name == NULL || w->qualname == NULL || w->doc == NULL || w->module == NULL) {
        Py_DECREF(w);
        return NULL;
    }
    return (PyObject *)w;
}

static void wrapper_dealloc(Wrapper *w)
{
    Py_XDECREF(w->memo_log);
    Py_XDECREF(w->memo_entry);
    Py_XDECREF(w->call_id);
    Py_XDECREF(w->slot);
    Py_XDECREF(w->orig);
    Py_XDECREF(w->python);
    Py_XDECREF(w->problem_text);
    Py_XDECREF(w->name);
    Py_XDECREF(w->qualname);
    Py_XDECREF(w->doc);
    Py_XDECREF(w->module);
    Py_XDECREF(w->S.tls);
    Py_XDECREF(w->S.log_class);
    Py_XDECREF(w->S.table);
    Py_XDECREF(w->S.endpoint);
    Py_XDECREF(w->S.send_entry);
    Py_XDECREF(w->S.receive_entry);
    Py_XDECREF(w->S.failed);
    Py_XDECREF(w->S.problem);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyObject *wrapper_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (obj == NULL || obj == Py_None)
        return Py_NewRef(self);
    return PyMethod_New(self, obj);
}

static PyObject *wrapper_repr(Wrapper *w)
{
    return PyUnicode_FromFormat("<compiled recorder wrapper of %S>", w->qualname);
}

static PyMemberDef wrapper_members[] = {
    {"__name__", T_OBJECT, offsetof(Wrapper, name), READONLY, NULL},
    {"__qualname__", T_OBJECT, offsetof(Wrapper, qualname), READONLY, NULL},
    {"__doc__", T_OBJECT, offsetof(Wrapper, doc), READONLY, NULL},
    {"__module__", T_OBJECT, offsetof(Wrapper, module), READONLY, NULL},
    {"__wrapped__", T_OBJECT, offsetof(Wrapper, orig), READONLY, "the original the wrapper calls"},
    {"python", T_OBJECT, offsetof(Wrapper, python), READONLY, "the generated Python wrapper (rare paths)"},
    {NULL},
};

static PyTypeObject WrapperType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ipctrace.record._hotc.Wrapper",
    .tp_doc = "A compiled hot-path wrapper: Wrapper(name, call_id, slot, orig, python, problem, shared).",
    .tp_basicsize = sizeof(Wrapper),
    /* METHOD_DESCRIPTOR: `sock.send(b)` calls it with the socket first, with no bound method made */
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_new = wrapper_new,
    .tp_dealloc = (destructor)wrapper_dealloc,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(Wrapper, vectorcall),
    .tp_descr_get = wrapper_get,
    .tp_repr = (reprfunc)wrapper_repr,
    .tp_members = wrapper_members,
};

/* -- LogState: the base of log.py's ThreadLog -- */

static int state_traverse(LogState *s, visitproc visit, void *arg)
{
    Py_VISIT(s->caches);
    return 0;
}

static int state_clear(LogState *s)
{
    Py_CLEAR(s->caches);
    return 0;
}

static void state_dealloc(LogState *s)
{
    PyObject_GC_UnTrack(s);
    state_clear(s);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyMemberDef state_members[] = {
    {"pos", T_LONGLONG, offsetof(LogState, pos), 0, "where the next record goes"},
    {"limit", T_LONGLONG, offsetof(LogState, limit), 0, "the end of the reserved chunk (0: retired)"},
    {"addr", T_ULONGLONG, offsetof(LogState, addr), 0, "the mapping's address"},
    {"alive", T_BOOL, offsetof(LogState, alive), 0, "False once the log is retired"},
    {"caches", T_OBJECT_EX, offsetof(LogState, caches), 0, "one record head cache per hot wrapper"},
    {NULL},
};

static PyTypeObject LogStateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "ipctrace.record._hotc.LogState",
    .tp_doc = "A thread log's cursor and head caches, as C fields (log.py's ThreadLog derives from it).",
    .tp_basicsize = sizeof(LogState),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_dealloc = (destructor)state_dealloc,
    .tp_traverse = (traverseproc)state_traverse,
    .tp_clear = (inquiry)state_clear,
    .tp_members = state_members,
};

/* The log's mapping (mapping.py), here so that a traced process need not import ctypes (3 ms of its start):
 * libc's mmap of the log's descriptor, shared, never unmapped, keeping no descriptor of its own (Python's
 * mmap keeps a duplicate, a number the program would see). map_shared(fd, size) -> (address, memoryview). */
static PyObject *map_shared(PyObject *self, PyObject *args)
{
    int fd;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "in:map_shared", &fd, &size))
        return NULL;
    void *addr;
    Py_BEGIN_ALLOW_THREADS
    addr = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    Py_END_ALLOW_THREADS
    if (addr == MAP_FAILED)
        return PyErr_SetFromErrno(PyExc_OSError);
    PyObject *view = PyMemoryView_FromMemory((char *)addr, size, PyBUF_WRITE);
    if (view == NULL) {
        munmap(addr, (size_t)size);
        return NULL;
    }
    return Py_BuildValue("(KN)", (unsigned long long)(uintptr_t)addr, view);
}

/* advise(address, length, advice) -> 0 or the errno of madvise (a kernel without that advice: EINVAL). */
static PyObject *advise(PyObject *self, PyObject *args)
{
    unsigned long long addr;
    Py_ssize_t length;
    int advice, err;
    if (!PyArg_ParseTuple(args, "Kni:advise", &addr, &length, &advice))
        return NULL;
    Py_BEGIN_ALLOW_THREADS
    err = madvise((void *)(uintptr_t)addr, (size_t)length, advice) == 0 ? 0 : errno;
    Py_END_ALLOW_THREADS
    return PyLong_FromLong(err);
}

static PyMethodDef methods[] = {
    {"map_shared", map_shared, METH_VARARGS, "map_shared(fd, size) -> (address, memoryview): a log's mapping."},
    {"advise", advise, METH_VARARGS, "advise(address, length, advice) -> 0 or madvise's errno."},
    {"logs_changed", logs_changed, METH_NOARGS, "logs_changed(): a thread's TLS.log was set or deleted."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_hotc", "The recorder's hot-path wrappers, compiled (record/hotc.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__hotc(void)
{
    struct { PyObject **at; const char *s; } names[] = {
        {&s_log, "log"}, {&s_gate, "GATE"}, {&s_grow, "_grow_reserve"}, {&s_fileno, "fileno"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if ((*names[i].at = PyUnicode_InternFromString(names[i].s)) == NULL)
            return NULL;
    if (PyType_Ready(&WrapperType) < 0 || PyType_Ready(&LogStateType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module_def);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Wrapper", (PyObject *)&WrapperType) < 0 ||
        PyModule_AddObjectRef(m, "LogState", (PyObject *)&LogStateType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
