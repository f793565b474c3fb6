"""Fixtures of py_extensions_SUITE: C extension modules shipped by Debian, used from the port."""
import ctypes
import decimal
import sys


def _file_of(module):
    return getattr(module, "__file__", None) or ""


def ctypes_check():
    """_ctypes (lib-dynload): libc through libffi, a Python callback, the port's own C API."""
    import _ctypes
    libc = ctypes.CDLL(None)
    values = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
    compare = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int),
               compare(lambda a, b: a[0] - b[0]))
    # ctypes.pythonapi is the program itself: the interpreter's symbols must be exported.
    initialized = ctypes.pythonapi.Py_IsInitialized()
    return _file_of(_ctypes), libc.abs(-3), list(values), initialized


def decimal_check():
    """_decimal (lib-dynload, libmpdec): exact decimal arithmetic."""
    import _decimal
    with decimal.localcontext() as ctx:
        ctx.prec = 30
        seventh = str(decimal.Decimal(1) / decimal.Decimal(7))
    return _file_of(_decimal), seventh, str(decimal.Decimal("0.1") + decimal.Decimal("0.2"))


def numpy_check():
    """numpy (python3-numpy): its C core and linear algebra."""
    import numpy
    from numpy.core import _multiarray_umath
    m = numpy.arange(1, 5, dtype=numpy.float64).reshape(2, 2)
    inverse = numpy.linalg.inv(m)
    return (_file_of(_multiarray_umath), int(numpy.arange(10).sum()),
            [[round(float(x), 6) + 0.0 for x in row] for row in m @ inverse])


def interpreter_is_not_a_second_copy():
    """One interpreter in the process: the C API seen by ctypes is the one running this code."""
    return ctypes.pythonapi.PyLong_AsLong(ctypes.py_object(12345)) == 12345 and sys.version
