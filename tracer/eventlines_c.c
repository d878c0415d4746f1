/* The event lines of a trace file, read in C: what eventlines.Lines.read does a line at a time, compiled.
 *
 * `read` is that loop step for step, on the same dictionaries (`Lines`'s shapes, payloads and whole
 * texts): the head as `write_trace` writes it matched by hand (what eventlines._HEAD matches, no more),
 * its numbers parsed, the text after them looked up, the payload cut out and looked up, and the event's
 * tuple made as `tuple.__new__(Event, ...)` makes it. Everything else goes back to Python as before: a
 * payload not seen yet is decoded by `Lines._payload`, and a line that does not match or whose shape is
 * new is handed to the reader (`handoff`) with the same hint. eventlines.py uses it when it is built
 * (setup.py; optional) and its own loop otherwise; tests/test_eventlines_c.py says both give the same.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* Digits of a number that always fits an unsigned long long (the longer ones go through int()); a time in
 * nanoseconds since 1970 has 19. */
#define SHORT_DIGITS 19
/* Small ints made once per call (pids, ppids and tids repeat on every line): a direct-mapped cache. */
#define CACHE 64

typedef struct {
    unsigned long long value[CACHE];
    PyObject *obj[CACHE];
} IntCache;

typedef struct {
    int kind;
    const void *data;
    Py_ssize_t len, pos;
} Cursor;

#define AT(c, i) PyUnicode_READ((c)->kind, (c)->data, (i))

static int literal(Cursor *c, const char *text)
{
    for (const char *p = text; *p; p++, c->pos++)
        if (c->pos >= c->len || AT(c, c->pos) != (Py_UCS4)(unsigned char)*p)
            return 0;
    return 1;
}

/* A JSON number as json.dumps writes a non-negative int: 0, or [1-9][0-9]* (eventlines._NUMBER). */
static int json_int(Cursor *c, Py_ssize_t *start, Py_ssize_t *end)
{
    *start = c->pos;
    if (c->pos >= c->len)
        return 0;
    Py_UCS4 ch = AT(c, c->pos);
    if (ch == '0') {
        c->pos++;
    } else if (ch >= '1' && ch <= '9') {
        while (c->pos < c->len && (ch = AT(c, c->pos)) >= '0' && ch <= '9')
            c->pos++;
    } else {
        return 0;
    }
    *end = c->pos;
    return 1;
}

static PyObject *to_int(PyObject *line, const Cursor *c, Py_ssize_t start, Py_ssize_t end)
{
    if (end - start <= SHORT_DIGITS) {
        unsigned long long v = 0;
        for (Py_ssize_t i = start; i < end; i++)
            v = v * 10 + (unsigned long long)(AT(c, i) - '0');
        return PyLong_FromUnsignedLongLong(v);
    }
    PyObject *text = PyUnicode_Substring(line, start, end);
    if (text == NULL)
        return NULL;
    PyObject *v = PyLong_FromUnicodeObject(text, 10);
    Py_DECREF(text);
    return v;
}

/* A new reference to the int, from the cache when it is short and was made before. */
static PyObject *cached_int(IntCache *cache, PyObject *line, const Cursor *c, Py_ssize_t start, Py_ssize_t end)
{
    if (end - start > SHORT_DIGITS)
        return to_int(line, c, start, end);
    unsigned long long v = 0;
    for (Py_ssize_t i = start; i < end; i++)
        v = v * 10 + (unsigned long long)(AT(c, i) - '0');
    size_t at = (size_t)(v % CACHE);
    if (cache->obj[at] == NULL || cache->value[at] != v) {
        PyObject *made = PyLong_FromUnsignedLongLong(v);
        if (made == NULL)
            return NULL;
        Py_XSETREF(cache->obj[at], made);
        cache->value[at] = v;
    }
    Py_INCREF(cache->obj[at]);
    return cache->obj[at];
}

/* tuple.__new__(type, items): a tuple subclass with no fields of its own, made with its `n` items. */
static PyObject *new_tuple_of(PyTypeObject *type, Py_ssize_t n)
{
    return type->tp_alloc(type, n);
}

static PyObject *groups_of(PyObject *line, const Py_ssize_t *spans, int has_t1)
{
    PyObject *groups = PyTuple_New(6);
    if (groups == NULL)
        return NULL;
    for (int i = 0; i < 6; i++) {
        PyObject *g;
        if (i == 5 && !has_t1) {
            g = Py_NewRef(Py_None);
        } else {
            g = PyUnicode_Substring(line, spans[2 * i], spans[2 * i + 1]);
            if (g == NULL) {
                Py_DECREF(groups);
                return NULL;
            }
        }
        PyTuple_SET_ITEM(groups, i, g);
    }
    return groups;
}

static PyObject *s_data; /* ', "data": "' (eventlines._DATA) */

static PyObject *read_lines(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 12) {
        PyErr_SetString(PyExc_TypeError, "read takes 12 arguments");
        return NULL;
    }
    PyObject *lines = args[0], *events = args[2], *handoff = args[3], *shapes = args[4];
    PyObject *payloads = args[5], *whole = args[6], *payload = args[7], *not_plain = args[8];
    if (!PyList_Check(lines) || !PyList_Check(events) || !PyDict_Check(shapes) || !PyDict_Check(payloads) ||
        !PyDict_Check(whole) || !PyType_Check(args[9]) || !PyType_Check(args[10]) ||
        !PyType_IsSubtype((PyTypeObject *)args[9], &PyTuple_Type) ||
        !PyType_IsSubtype((PyTypeObject *)args[10], &PyTuple_Type)) {
        PyErr_SetString(PyExc_TypeError, "read: lines and events lists, three dicts, two tuple types");
        return NULL;
    }
    PyTypeObject *event_type = (PyTypeObject *)args[9], *key_type = (PyTypeObject *)args[10];
    long long number = PyLong_AsLongLong(args[1]);
    if (number == -1 && PyErr_Occurred())
        return NULL;
    Py_ssize_t max_whole = PyLong_AsSsize_t(args[11]);
    if (max_whole == -1 && PyErr_Occurred())
        return NULL;

    IntCache cache;
    memset(&cache, 0, sizeof cache);
    PyObject *result = NULL;
    PyObject *rest = NULL, *rest2 = NULL, *text = NULL, *shape = NULL, *known = NULL, *data = NULL;

    for (Py_ssize_t li = 0; li < PyList_GET_SIZE(lines); li++) {
        PyObject *line = PyList_GET_ITEM(lines, li);
        Py_INCREF(line);
        number++;
        Cursor c = {0, NULL, 0, 0};
        Py_ssize_t spans[12];
        int matched = 0, has_t1 = 1;
        if (PyUnicode_Check(line)) {
            c.kind = PyUnicode_KIND(line);
            c.data = PyUnicode_DATA(line);
            c.len = PyUnicode_GET_LENGTH(line);
            matched = literal(&c, "{\"type\": \"event\", \"pid\": ") && json_int(&c, &spans[0], &spans[1]) &&
                      literal(&c, ", \"seq\": ") && json_int(&c, &spans[2], &spans[3]) &&
                      literal(&c, ", \"ppid\": ") && json_int(&c, &spans[4], &spans[5]) &&
                      literal(&c, ", \"tid\": ") && json_int(&c, &spans[6], &spans[7]) &&
                      literal(&c, ", \"t0\": ") && json_int(&c, &spans[8], &spans[9]) && literal(&c, ", \"t1\": ");
            if (matched) {
                Py_ssize_t at = c.pos;
                if (!json_int(&c, &spans[10], &spans[11])) {
                    c.pos = at;
                    has_t1 = 0;
                    matched = literal(&c, "null");
                }
            }
            matched = matched && literal(&c, ", \"call\": \"");
        }
        PyObject *hint = NULL, *fields = NULL;
        if (!matched)
            goto hand_off;
        rest = PyUnicode_Substring(line, c.pos, c.len);
        if (rest == NULL)
            goto fail;
        known = PyDict_GetItemWithError(whole, rest);
        if (known == NULL && PyErr_Occurred())
            goto fail;
        if (known == NULL) {
            Py_ssize_t rlen = PyUnicode_GET_LENGTH(rest);
            Py_ssize_t at = PyUnicode_Find(rest, s_data, 0, rlen, 1);
            if (at == -2)
                goto fail;
            if (at >= 0) {
                Py_ssize_t from = at + PyUnicode_GET_LENGTH(s_data);
                Py_ssize_t end = PyUnicode_FindChar(rest, '"', from, rlen, 1);
                if (end == -2)
                    goto fail;
                if (end < 0) /* no end to the payload: the reader says what is wrong with the line */
                    goto hand_off;
                text = PyUnicode_Substring(rest, from, end);
                if (text == NULL)
                    goto fail;
                PyObject *head = PyUnicode_Substring(rest, 0, from), *tail = PyUnicode_Substring(rest, end, rlen);
                if (head != NULL && tail != NULL)
                    rest2 = PyUnicode_Concat(head, tail);
                Py_XDECREF(head);
                Py_XDECREF(tail);
                if (rest2 == NULL)
                    goto fail;
            } else {
                rest2 = Py_NewRef(rest);
            }
            shape = PyDict_GetItemWithError(shapes, rest2);
            if (shape == NULL && PyErr_Occurred())
                goto fail;
            Py_XINCREF(shape);
            data = Py_NewRef(not_plain);
            if (shape != NULL) {
                if (!PyTuple_Check(shape) || PyTuple_GET_SIZE(shape) != 2) {
                    PyErr_SetString(PyExc_TypeError, "read: a shape is (fields, data)");
                    goto fail;
                }
                if (text == NULL) {
                    Py_SETREF(data, Py_NewRef(PyTuple_GET_ITEM(shape, 1)));
                } else {
                    PyObject *seen = PyDict_GetItemWithError(payloads, text);
                    if (seen == NULL && PyErr_Occurred())
                        goto fail;
                    if (seen == NULL) {
                        PyObject *made = PyObject_CallOneArg(payload, text);
                        if (made == NULL)
                            goto fail;
                        Py_SETREF(data, made);
                    } else {
                        Py_SETREF(data, Py_NewRef(seen));
                        if (seen != not_plain) { /* a payload said again: the whole text may well be too */
                            if (PyDict_GET_SIZE(whole) >= max_whole)
                                PyDict_Clear(whole);
                            PyObject *pair = PyTuple_Pack(2, PyTuple_GET_ITEM(shape, 0), data);
                            if (pair == NULL)
                                goto fail;
                            int bad = PyDict_SetItem(whole, rest, pair);
                            Py_DECREF(pair);
                            if (bad < 0)
                                goto fail;
                        }
                    }
                }
            }
            if (shape == NULL || data == not_plain) {
                PyObject *groups = groups_of(line, spans, has_t1);
                if (groups == NULL)
                    goto fail;
                hint = PyTuple_Pack(3, groups, rest2, text == NULL ? Py_None : text);
                Py_DECREF(groups);
                if (hint == NULL)
                    goto fail;
                goto hand_off;
            }
            fields = Py_NewRef(PyTuple_GET_ITEM(shape, 0));
        } else {
            if (!PyTuple_Check(known) || PyTuple_GET_SIZE(known) != 2) {
                PyErr_SetString(PyExc_TypeError, "read: a whole text's entry is (fields, data)");
                goto fail;
            }
            fields = Py_NewRef(PyTuple_GET_ITEM(known, 0));
            data = Py_NewRef(PyTuple_GET_ITEM(known, 1));
        }
        if (!PyTuple_Check(fields)) {
            Py_DECREF(fields);
            PyErr_SetString(PyExc_TypeError, "read: a shape's fields are a tuple");
            goto fail;
        }
        {
            Py_ssize_t nf = PyTuple_GET_SIZE(fields);
            PyObject *p = cached_int(&cache, line, &c, spans[0], spans[1]);
            PyObject *s = to_int(line, &c, spans[2], spans[3]);
            PyObject *pp = cached_int(&cache, line, &c, spans[4], spans[5]);
            PyObject *t = cached_int(&cache, line, &c, spans[6], spans[7]);
            PyObject *t0 = to_int(line, &c, spans[8], spans[9]);
            PyObject *t1 = has_t1 ? to_int(line, &c, spans[10], spans[11]) : Py_NewRef(Py_None);
            PyObject *key = new_tuple_of(key_type, 2);
            PyObject *event = new_tuple_of(event_type, 8 + nf);
            if (p == NULL || s == NULL || pp == NULL || t == NULL || t0 == NULL || t1 == NULL || key == NULL ||
                event == NULL) {
                Py_XDECREF(p);
                Py_XDECREF(s);
                Py_XDECREF(pp);
                Py_XDECREF(t);
                Py_XDECREF(t0);
                Py_XDECREF(t1);
                Py_XDECREF(key);
                Py_XDECREF(event);
                Py_DECREF(fields);
                goto fail;
            }
            PyTuple_SET_ITEM(key, 0, Py_NewRef(p));
            PyTuple_SET_ITEM(key, 1, Py_NewRef(s));
            PyTuple_SET_ITEM(event, 0, p);
            PyTuple_SET_ITEM(event, 1, s);
            PyTuple_SET_ITEM(event, 2, pp);
            PyTuple_SET_ITEM(event, 3, t);
            PyTuple_SET_ITEM(event, 4, t0);
            PyTuple_SET_ITEM(event, 5, t1);
            PyTuple_SET_ITEM(event, 6, Py_NewRef(data));
            PyTuple_SET_ITEM(event, 7, key);
            for (Py_ssize_t i = 0; i < nf; i++)
                PyTuple_SET_ITEM(event, 8 + i, Py_NewRef(PyTuple_GET_ITEM(fields, i)));
            Py_DECREF(fields);
            int bad = PyList_Append(events, event);
            Py_DECREF(event);
            if (bad < 0)
                goto fail;
        }
        goto next;
    hand_off:
        if (PyList_Append(events, Py_None) < 0) {
            Py_XDECREF(hint);
            goto fail;
        }
        {
            PyObject *num = PyLong_FromLongLong(number);
            PyObject *slot = PyLong_FromSsize_t(PyList_GET_SIZE(events) - 1);
            PyObject *out = NULL;
            if (num != NULL && slot != NULL) {
                PyObject *call_args[4] = {num, line, slot, hint == NULL ? Py_None : hint};
                out = PyObject_Vectorcall(handoff, call_args, 4, NULL);
            }
            Py_XDECREF(num);
            Py_XDECREF(slot);
            Py_XDECREF(hint);
            if (out == NULL)
                goto fail;
            Py_DECREF(out);
        }
    next:
        Py_CLEAR(rest);
        Py_CLEAR(rest2);
        Py_CLEAR(text);
        Py_CLEAR(shape);
        Py_CLEAR(data);
        known = NULL;
        Py_DECREF(line);
        continue;
    fail:
        Py_DECREF(line);
        goto done;
    }
    result = PyLong_FromLongLong(number);
done:
    Py_XDECREF(rest);
    Py_XDECREF(rest2);
    Py_XDECREF(text);
    Py_XDECREF(shape);
    Py_XDECREF(data);
    for (int i = 0; i < CACHE; i++)
        Py_XDECREF(cache.obj[i]);
    return result;
}

/* said_key(event, ends, key_at, values, identities): what the timeline's line of an event depends on, as one
 * key (render/text.py): the pipe end `ends` holds for event[key_at] (None if none), the items at `values`
 * themselves, and the identities of the items at `identities` packed into one bytes object (their
 * addresses: while the trace is alive, the same objects mean the same text). */
static PyObject *said_key(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (nargs != 5 || !PyTuple_Check(args[0]) || !PyDict_Check(args[1]) || !PyTuple_Check(args[3]) ||
        !PyTuple_Check(args[4])) {
        PyErr_SetString(PyExc_TypeError, "said_key(event tuple, ends dict, key_at, values tuple, identities tuple)");
        return NULL;
    }
    PyObject *event = args[0], *values = args[3], *identities = args[4];
    Py_ssize_t n = PyTuple_GET_SIZE(event), nv = PyTuple_GET_SIZE(values), ni = PyTuple_GET_SIZE(identities);
    Py_ssize_t key_at = PyLong_AsSsize_t(args[2]);
    if (key_at == -1 && PyErr_Occurred())
        return NULL;
    if (key_at < 0 || key_at >= n) {
        PyErr_SetString(PyExc_IndexError, "said_key: key_at out of the event");
        return NULL;
    }
    PyObject *end = PyDict_GetItemWithError(args[1], PyTuple_GET_ITEM(event, key_at));
    if (end == NULL && PyErr_Occurred())
        return NULL;
    PyObject *key = PyTuple_New(2 + nv);
    if (key == NULL)
        return NULL;
    PyTuple_SET_ITEM(key, 0, Py_NewRef(end == NULL ? Py_None : end));
    for (Py_ssize_t k = 0; k < nv; k++) {
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(values, k));
        if (at < 0 || at >= n) {
            Py_DECREF(key);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "said_key: a value's place out of the event");
            return NULL;
        }
        PyTuple_SET_ITEM(key, 1 + k, Py_NewRef(PyTuple_GET_ITEM(event, at)));
    }
    PyObject *ids = PyBytes_FromStringAndSize(NULL, ni * (Py_ssize_t)sizeof(void *));
    if (ids == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    char *out = PyBytes_AS_STRING(ids);
    for (Py_ssize_t k = 0; k < ni; k++) {
        Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(identities, k));
        if (at < 0 || at >= n) {
            Py_DECREF(ids);
            Py_DECREF(key);
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_IndexError, "said_key: an identity's place out of the event");
            return NULL;
        }
        void *address = PyTuple_GET_ITEM(event, at);
        memcpy(out + k * sizeof(void *), &address, sizeof(void *));
    }
    PyTuple_SET_ITEM(key, 1 + nv, ids);
    return key;
}

static PyMethodDef methods[] = {
    {"said_key", (PyCFunction)(void (*)(void))said_key, METH_FASTCALL,
     "said_key(event, ends, key_at, values, identities) -> the key of the timeline's table of lines said before."},
    {"read", (PyCFunction)(void (*)(void))read_lines, METH_FASTCALL,
     "read(lines, number, events, handoff, shapes, payloads, whole, payload, not_plain, Event, EventKey, max_whole) -> "
     "the last line's number: eventlines.Lines.read's loop, compiled."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_eventlines", "Event lines of a trace file read in C (eventlines_c.c).", -1, methods,
};

PyMODINIT_FUNC PyInit__eventlines(void)
{
    s_data = PyUnicode_InternFromString(", \"data\": \"");
    if (s_data == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
