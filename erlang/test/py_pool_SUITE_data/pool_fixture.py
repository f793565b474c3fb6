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


def tell(pid, tag):
    """Sends (tag, os pid) to the Erlang process pid: how a cast shows it ran."""
    erlang.send(pid, (tag, os.getpid()))


_progress = {"items": 0, "closed": False}


def pids(n):
    """A generator of n items, each the OS pid of the process that made it;
    counts the items it produced and says when it was closed."""
    _progress["items"] = 0
    _progress["closed"] = False
    try:
        for _ in range(n):
            _progress["items"] += 1
            yield os.getpid()
    finally:
        _progress["closed"] = True


def progress():
    """[items produced, whether closed] of the last pids() generator."""
    return [_progress["items"], _progress["closed"]]
