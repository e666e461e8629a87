/*
 * RFC 8785 (JSON Canonicalization Scheme) serializer for Python JSON values.
 *
 * Same input domain and output as the reference `rfc8785` package (which
 * llmseal falls back to when this module is absent); equality is proven by the
 * official vectors and property tests in tests/unit/core/test_canonical.py.
 *
 *   None/True/False  -> null/true/false
 *   int              -> decimal, only within +-(2^53 - 1)       (RFC 8785 3.2.2.3, I-JSON)
 *   float            -> ECMAScript Number::toString of the shortest round-trip digits
 *   str              -> UTF-8, escaping only '"', '\\' and U+0000..U+001F  (3.2.2.2)
 *   list/tuple       -> [a,b]
 *   dict             -> members sorted by the UTF-16 code units of their keys (3.2.3)
 *
 * Errors: ValueError (domain: NaN, unsafe integer, lone surrogate), TypeError
 * (unsupported type, non-string key), RecursionError; the Python wrapper maps
 * them to llmseal.CanonicalizationError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAFE_INT_MAX 9007199254740991LL

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap) {
        return 0;
    }
    Py_ssize_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra) {
        if (cap > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    char *data = PyMem_Realloc(b->data, (size_t)cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->data = data;
    b->cap = cap;
    return 0;
}

static inline int buf_put(Buf *b, const char *s, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0) {
        return -1;
    }
    memcpy(b->data + b->len, s, (size_t)n);
    b->len += n;
    return 0;
}

static inline int buf_putc(Buf *b, char c) {
    if (buf_reserve(b, 1) < 0) {
        return -1;
    }
    b->data[b->len++] = c;
    return 0;
}

static int encode_value(Buf *b, PyObject *obj);

static int encode_str(Buf *b, PyObject *s) {
    static const char hex[] = "0123456789abcdef";
    Py_ssize_t n;
    /* Fails with UnicodeEncodeError on lone surrogates, like the reference. */
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL) {
        return -1;
    }
    if (buf_reserve(b, n + 2) < 0 || buf_putc(b, '"') < 0) {
        return -1;
    }
    Py_ssize_t run = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)u[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            continue;
        }
        if (buf_put(b, u + run, i - run) < 0) {
            return -1;
        }
        run = i + 1;
        char esc[6];
        Py_ssize_t len = 2;
        esc[0] = '\\';
        switch (c) {
            case '"': esc[1] = '"'; break;
            case '\\': esc[1] = '\\'; break;
            case '\b': esc[1] = 'b'; break;
            case '\f': esc[1] = 'f'; break;
            case '\n': esc[1] = 'n'; break;
            case '\r': esc[1] = 'r'; break;
            case '\t': esc[1] = 't'; break;
            default:
                esc[1] = 'u';
                esc[2] = '0';
                esc[3] = '0';
                esc[4] = hex[c >> 4];
                esc[5] = hex[c & 0xf];
                len = 6;
        }
        if (buf_put(b, esc, len) < 0) {
            return -1;
        }
    }
    if (buf_put(b, u + run, n - run) < 0) {
        return -1;
    }
    return buf_putc(b, '"');
}

static int encode_int(Buf *b, PyObject *obj) {
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (v == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow != 0 || v > SAFE_INT_MAX || v < -SAFE_INT_MAX) {
        PyErr_SetString(PyExc_ValueError, "integer exceeds safe integer domain for JSON floats");
        return -1;
    }
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%lld", v);
    return buf_put(b, tmp, len);
}

/*
 * ECMAScript Number::toString (ECMA-262 7.1.12.1) for a finite, non-zero
 * double, from Python's shortest round-trip digits (repr).
 */
static int encode_float(Buf *b, double d) {
    if (!isfinite(d)) {
        PyErr_SetString(PyExc_ValueError, "NaN and infinity are not representable in JCS");
        return -1;
    }
    if (d == 0.0) {
        return buf_putc(b, '0'); /* also -0.0 */
    }
    char *repr = PyOS_double_to_string(fabs(d), 'r', 0, 0, NULL);
    if (repr == NULL) {
        return -1;
    }
    /* repr is "ddd.ddd" or "d[.ddd]e[+-]dd": gather the digits and the decimal
       exponent n such that value = 0.DIGITS * 10^n. */
    char digits[40];
    int k = 0;
    int point = -1;
    long exp10 = 0;
    for (const char *p = repr; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (k < (int)sizeof digits) {
                digits[k++] = *p;
            }
        } else if (*p == '.') {
            point = k;
        } else if (*p == 'e' || *p == 'E') {
            exp10 = strtol(p + 1, NULL, 10);
            break;
        }
    }
    PyMem_Free(repr);
    if (point < 0) {
        point = k;
    }
    long n = point + exp10;
    int start = 0;
    while (start < k - 1 && digits[start] == '0') {
        start++;
        n--;
    }
    while (k - 1 > start && digits[k - 1] == '0') {
        k--;
    }
    const char *D = digits + start;
    int nd = k - start;

    char out[64];
    int len = 0;
    if (d < 0) {
        out[len++] = '-';
    }
    if (nd <= n && n <= 21) {
        memcpy(out + len, D, (size_t)nd);
        len += nd;
        for (long i = nd; i < n; i++) {
            out[len++] = '0';
        }
    } else if (0 < n && n <= 21) {
        memcpy(out + len, D, (size_t)n);
        len += (int)n;
        out[len++] = '.';
        memcpy(out + len, D + n, (size_t)(nd - n));
        len += nd - (int)n;
    } else if (-6 < n && n <= 0) {
        out[len++] = '0';
        out[len++] = '.';
        for (long i = 0; i < -n; i++) {
            out[len++] = '0';
        }
        memcpy(out + len, D, (size_t)nd);
        len += nd;
    } else {
        long e = n - 1;
        out[len++] = D[0];
        if (nd > 1) {
            out[len++] = '.';
            memcpy(out + len, D + 1, (size_t)(nd - 1));
            len += nd - 1;
        }
        len += snprintf(out + len, sizeof out - (size_t)len, "e%c%ld", e < 0 ? '-' : '+', labs(e));
    }
    return buf_put(b, out, len);
}

typedef struct {
    PyObject *key;
    PyObject *value;
} Member;

/* Compare two members by the UTF-16 code units of their keys (RFC 8785 3.2.3).
   Code points order the same except astral characters against U+E000..U+FFFF,
   so an astral character is compared through its high surrogate. */
static int utf16_compare(const void *pa, const void *pb) {
    PyObject *a = ((const Member *)pa)->key;
    PyObject *b = ((const Member *)pb)->key;
    Py_ssize_t la = PyUnicode_GET_LENGTH(a);
    Py_ssize_t lb = PyUnicode_GET_LENGTH(b);
    int ka = PyUnicode_KIND(a);
    int kb = PyUnicode_KIND(b);
    const void *da = PyUnicode_DATA(a);
    const void *db = PyUnicode_DATA(b);
    Py_ssize_t m = la < lb ? la : lb;
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_UCS4 ca = PyUnicode_READ(ka, da, i);
        Py_UCS4 cb = PyUnicode_READ(kb, db, i);
        if (ca == cb) {
            continue;
        }
        Py_UCS4 ua = ca >= 0x10000 ? 0xD800 + ((ca - 0x10000) >> 10) : ca;
        Py_UCS4 ub = cb >= 0x10000 ? 0xD800 + ((cb - 0x10000) >> 10) : cb;
        if (ua != ub) {
            return ua < ub ? -1 : 1;
        }
        return ca < cb ? -1 : 1;
    }
    return la < lb ? -1 : (la > lb ? 1 : 0);
}

/* Members are copied out (with references) before sorting, so no Python code
   (a key's __eq__ in a lookup) runs while the object is being written. */
static int encode_dict(Buf *b, PyObject *dict) {
    Py_ssize_t n = PyDict_GET_SIZE(dict);
    if (n == 0) {
        return buf_put(b, "{}", 2);
    }
    Member *members = PyMem_Malloc(sizeof(Member) * (size_t)n);
    if (members == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pos = 0, count = 0;
    PyObject *key, *value;
    int rc = 0;
    while (count < n && PyDict_Next(dict, &pos, &key, &value)) {
        if (!PyUnicode_Check(key)) {
            PyErr_SetString(PyExc_TypeError, "object keys must be strings");
            rc = -1;
            break;
        }
        Py_INCREF(key);
        Py_INCREF(value);
        members[count].key = key;
        members[count].value = value;
        count++;
    }
    if (rc == 0) {
        qsort(members, (size_t)count, sizeof(Member), utf16_compare);
        rc = buf_putc(b, '{');
    }
    for (Py_ssize_t j = 0; j < count && rc == 0; j++) {
        if ((j > 0 && buf_putc(b, ',') < 0) || encode_str(b, members[j].key) < 0 ||
            buf_putc(b, ':') < 0 || encode_value(b, members[j].value) < 0) {
            rc = -1;
        }
    }
    if (rc == 0) {
        rc = buf_putc(b, '}');
    }
    for (Py_ssize_t j = 0; j < count; j++) {
        Py_DECREF(members[j].key);
        Py_DECREF(members[j].value);
    }
    PyMem_Free(members);
    return rc;
}

static int encode_sequence(Buf *b, PyObject *seq) {
    int is_list = PyList_Check(seq);
    int rc = buf_putc(b, '[');
    /* The size is re-read every step: encoding runs no Python code, but a list
       is never indexed past its current end regardless. */
    for (Py_ssize_t i = 0; rc == 0; i++) {
        Py_ssize_t n = is_list ? PyList_GET_SIZE(seq) : PyTuple_GET_SIZE(seq);
        if (i >= n) {
            break;
        }
        PyObject *item = is_list ? PyList_GET_ITEM(seq, i) : PyTuple_GET_ITEM(seq, i);
        Py_INCREF(item);
        if (i > 0 && buf_putc(b, ',') < 0) {
            rc = -1;
        } else {
            rc = encode_value(b, item);
        }
        Py_DECREF(item);
    }
    return rc == 0 ? buf_putc(b, ']') : -1;
}

static int encode_value(Buf *b, PyObject *obj) {
    if (obj == Py_None) {
        return buf_put(b, "null", 4);
    }
    if (obj == Py_True) {
        return buf_put(b, "true", 4);
    }
    if (obj == Py_False) {
        return buf_put(b, "false", 5);
    }
    if (PyUnicode_Check(obj)) {
        return encode_str(b, obj);
    }
    if (PyLong_Check(obj)) {
        if (PyBool_Check(obj)) { /* bool subclasses cannot exist; kept for clarity */
            return buf_put(b, obj == Py_True ? "true" : "false", obj == Py_True ? 4 : 5);
        }
        return encode_int(b, obj);
    }
    if (PyFloat_Check(obj)) {
        return encode_float(b, PyFloat_AS_DOUBLE(obj));
    }
    if (PyDict_Check(obj) || PyList_Check(obj) || PyTuple_Check(obj)) {
        if (Py_EnterRecursiveCall(" while canonicalizing JSON")) {
            return -1;
        }
        int rc = PyDict_Check(obj) ? encode_dict(b, obj) : encode_sequence(b, obj);
        Py_LeaveRecursiveCall();
        return rc;
    }
    PyErr_Format(PyExc_TypeError, "unsupported type: %.100s", Py_TYPE(obj)->tp_name);
    return -1;
}

static PyObject *jcs_dumps(PyObject *self, PyObject *obj) {
    (void)self;
    Buf b = {NULL, 0, 0};
    if (encode_value(&b, obj) < 0) {
        PyMem_Free(b.data);
        return NULL;
    }
    PyObject *result = PyBytes_FromStringAndSize(b.data ? b.data : "", b.len);
    PyMem_Free(b.data);
    return result;
}

static PyMethodDef jcs_methods[] = {
    {"dumps", jcs_dumps, METH_O, "Return the RFC 8785 canonical bytes of a JSON value."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef jcs_module = {
    PyModuleDef_HEAD_INIT, "_jcs", "RFC 8785 canonical JSON (C accelerator).", -1, jcs_methods,
};

PyMODINIT_FUNC PyInit__jcs(void) { return PyModule_Create(&jcs_module); }
