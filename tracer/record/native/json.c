/* JSON blobs (FORMAT.md, "Blobs"): built into a caller's buffer, never allocated, safe in a signal handler. */
#include "ipctrace.h"

#include <string.h>

size_t put_num(char *out, uint64_t v)
{
    char tmp[24];
    size_t n = 0, k = 0;
    do
        tmp[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        out[k++] = tmp[--n];
    return k;
}


void jb_raw(struct jb *j, const char *s)
{
    size_t n = strlen(s);
    if (j->n + n >= j->cap) {
        j->n = j->cap;
        return;
    }
    memcpy(j->p + j->n, s, n);
    j->n += (uint32_t)n;
}

static void jb_char(struct jb *j, char c)
{
    if (j->n + 1 >= j->cap) {
        j->n = j->cap;
        return;
    }
    j->p[j->n++] = c;
}

void jb_int(struct jb *j, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    if (v < 0) {
        tmp[n++] = '-';
        n += put_num(tmp + n, (uint64_t)(-(v + 1)) + 1);
    } else {
        n = put_num(tmp, (uint64_t)v);
    }
    tmp[n] = '\0';
    jb_raw(j, tmp);
}

void jb_secs(struct jb *j, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    jb_int(j, ns / 1000000000);
    char frac[12] = ".";
    int64_t rest = ns % 1000000000;
    int n = 1;
    for (int64_t div = 100000000; div > 0 && (rest || n == 1); div /= 10) {
        frac[n++] = (char)('0' + rest / div);
        rest %= div;
    }
    frac[n] = '\0';
    jb_raw(j, frac);
}

static void jb_u(struct jb *j, unsigned code)
{
    static const char hex[] = "0123456789abcdef";
    char esc[7] = {'\\', 'u', hex[code >> 12 & 15], hex[code >> 8 & 15], hex[code >> 4 & 15], hex[code & 15], 0};
    jb_raw(j, esc);
}

/* UTF-8 sequences as \u escapes (ASCII output, like layout.json_blob); undecodable bytes as \udcXX, which is
 * what Python's surrogateescape makes of them. */
void jb_str(struct jb *j, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    jb_char(j, '"');
    for (size_t i = 0; i < len && jb_ok(j);) {
        unsigned c = u[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            jb_char(j, (char)c);
            i++;
            continue;
        }
        if (c == '"' || c == '\\') {
            jb_char(j, '\\');
            jb_char(j, (char)c);
            i++;
            continue;
        }
        if (c == '\n') {
            jb_raw(j, "\\n");
            i++;
            continue;
        }
        unsigned need = c >= 0xf0 && c < 0xf5 ? 3 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xc2 && c < 0xe0 ? 1 : 0;
        if (need && i + need < len) {
            unsigned code = c & (0x3fu >> need);
            size_t k = 1;
            for (; k <= need && (u[i + k] & 0xc0) == 0x80; k++)
                code = code << 6 | (u[i + k] & 0x3f);
            int shortest = (need == 1) || (need == 2 && code >= 0x800 && (code < 0xd800 || code > 0xdfff)) ||
                           (need == 3 && code >= 0x10000 && code <= 0x10ffff);
            if (k == need + 1 && shortest) {
                if (code >= 0x10000) {
                    code -= 0x10000;
                    jb_u(j, 0xd800 | code >> 10);
                    jb_u(j, 0xdc00 | (code & 0x3ff));
                } else {
                    jb_u(j, code);
                }
                i += k;
                continue;
            }
        }
        jb_u(j, c >= 0x80 ? 0xdc00 | c : c);
        i++;
    }
    jb_char(j, '"');
}

void jb_key(struct jb *j, const char *key)
{
    if (j->n > 0 && j->p[j->n - 1] != '{' && j->p[j->n - 1] != '[')
        jb_char(j, ',');
    jb_char(j, '"');
    jb_raw(j, key);
    jb_raw(j, "\":");
}
