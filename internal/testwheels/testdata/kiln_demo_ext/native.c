/*
 * kiln_demo_ext._native: a tiny CPython extension module used as a test
 * fixture. kiln must pick the wheel built for the image's architecture;
 * the wrong one fails to import, which is what the end-to-end tests check.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

/* 64-bit FNV-1a, as in Go's hash/fnv New64a, so tests can cross-check. */
static PyObject *
fnv1a(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    uint64_t h = 14695981039346656037ULL;
    const unsigned char *p = view.buf;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(h);
}

static PyMethodDef methods[] = {
    {"fnv1a", fnv1a, METH_O, "fnv1a(data: bytes) -> int\n\n64-bit FNV-1a hash of data."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    "kiln_demo_ext._native",
    "Compiled half of kiln_demo_ext.",
    -1,
    methods,
};

PyMODINIT_FUNC
PyInit__native(void)
{
    return PyModule_Create(&module);
}
