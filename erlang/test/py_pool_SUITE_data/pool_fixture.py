"""Functions the pool suite calls in its pool members."""

import os
import threading
import time

import erlang


def pid_after(seconds):
    """Sleeps, then says which process ran it."""
    time.sleep(seconds)
    return os.getpid()


def ident():
    """The OS pid and the Python thread of the caller."""
    return [os.getpid(), threading.get_ident()]


def nested():
    """Calls the Erlang function 'where_am_i', which calls back into Python:
    the answer names the process and thread that ran the inner call, and this
    thread's own."""
    inner = erlang.call("where_am_i")
    return [inner, [os.getpid(), threading.get_ident()]]


def burn(n):
    """Pure-Python CPU work."""
    total = 0
    for i in range(n):
        total += i * i
    return total
