"""Python fixtures for py_compat_SUITE: a record of what ran, and names to check."""
import os
import sys

# Appended to by mark(): a request that reached Python leaves its trace here.
MARKS = []


def mark(name):
    MARKS.append(name)
    return name


def marks():
    return list(MARKS)


def os_pid():
    return os.getpid()


def imported(name):
    """Whether the module `name` has been imported (without importing anything)."""
    return name in sys.modules


def identity(value):
    return value


def main_names():
    """The names defined in __main__, the namespace of py:eval and py:exec."""
    return sorted(vars(sys.modules["__main__"]))
