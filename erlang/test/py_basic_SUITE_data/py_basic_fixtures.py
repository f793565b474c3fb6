"""Python fixtures for py_basic_SUITE: plain functions the suite calls by name."""
import os
import sys


def identity(value):
    """Returns its argument unchanged: every round trip goes through here."""
    return value


def type_name(value):
    """The Python type an Erlang term arrived as, e.g. 'int', 'str', 'bytes'."""
    return type(value).__name__


def raise_custom(class_name, message):
    """Raises an instance of a fresh exception class named class_name."""
    cls = type(class_name, (Exception,), {})
    raise cls(message)


def noisy(value):
    """Writes to stdout through print() and straight to fd 1, then returns value."""
    print("print() from a called function", value)
    print("x" * 100000)
    sys.stdout.flush()
    # Bytes shaped like a {packet,4} frame header, then some garbage.
    os.write(1, b"\x00\x00\x00\x0dA\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    os.write(1, b"raw bytes on fd 1\n" * 100)
    return value


def imported(name):
    """Whether the module `name` has been imported (without importing anything)."""
    return name in sys.modules
