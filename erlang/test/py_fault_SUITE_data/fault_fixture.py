"""Python side of py_fault_SUITE: the faults the suite injects, and the workload around them.

Every function is called from Erlang with py:call(fault_fixture, Name, Args).
The faults are deliberate: os._exit, a segfault, SIGKILL to itself, loops
and sleeps that only a timeout can end, a block in C code, allocations over
the memory limit, CPU burnt past the CPU limit, and a flood of output.
"""

import ctypes
import os
import select
import signal
import socket
import sys
import threading
import time

import erlang


# ---- Workload.


def identity(x):
    """Returns its argument unchanged."""
    return x


def slow(ms, tag):
    """Sleeps ms milliseconds (time.sleep: interruptible by a timeout), returns tag."""
    time.sleep(ms / 1000.0)
    return tag


def os_pid():
    """The OS process id of the Python process."""
    return os.getpid()


def os_pid_and_size(data):
    """(OS process id, len(data)): which port served a call with a large argument."""
    return (os.getpid(), len(data))


# ---- Crashes.


def exit_now(status):
    """os._exit(status) on the executor thread running this request."""
    os._exit(int(status))


def _crash(kind):
    if kind == "exit":
        os._exit(3)
    elif kind == "segfault":
        ctypes.string_at(0)
    elif kind == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    raise ValueError("unknown crash kind: %r" % (kind,))


def arm_crash(kind, test):
    """Starts a thread that waits in erlang.call('crash_gate', test) and then crashes.

    The Erlang function returns when the test opens the gate, so the crash
    comes exactly when the test wants it, however busy the executors are.
    """

    def worker():
        erlang.call("crash_gate", test)
        _crash(str(kind))

    threading.Thread(target=worker, daemon=True).start()
    return "armed"


# ---- Code that only a timeout can end.


def spin():
    """A pure-Python busy loop: interruptible between bytecodes."""
    while True:
        pass


def sleep_long():
    """time.sleep(1000): the port's time.sleep wakes up on a cancel."""
    time.sleep(1000)


def c_block(seconds):
    """select.select() on nothing: C code, the GIL released, deaf to asynchronous
    exceptions; after the port's interrupt signal (EINTR) CPython retries it (PEP 475),
    so only killing the port ends it."""
    select.select([], [], [], seconds)
    return "woke"


def libc_sleep(seconds):
    """libc sleep() through ctypes: returns early on EINTR, so the port's interrupt
    signal ends it and the pending TimeoutError fires at the next bytecode."""
    ctypes.CDLL(None).sleep(int(seconds))
    return "woke"


def socket_recv_block(seconds):
    """recv() on a socket that never gets data (CPython retries it after EINTR)."""
    a, b = socket.socketpair()
    with a, b:
        a.settimeout(seconds)
        a.recv(1)
    return "woke"


def c_loop(n):
    """sum(range(n)): a loop in C, no bytecode, no system call."""
    return sum(range(int(n)))


# ---- Resource limits.


def allocate(nbytes):
    """Allocates and touches nbytes; returns how many were allocated."""
    block = bytearray(nbytes)
    return len(block)


def burn_cpu(seconds):
    """Busy loop of `seconds` of wall time (and as much CPU time)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n


# ---- Output.


def flood(tag, lines, width):
    """print()s `lines` lines of exactly `width` bytes each, '\\n' included.

    Every line is b'<tag> <index> xxx...' so the suite can check it arrived intact.
    """
    for i in range(lines):
        head = "%s %d " % (tag, i)
        print(head + "x" * (width - 1 - len(head)))
    sys.stdout.flush()
    return lines * width


def say(text):
    """print()s one line and flushes."""
    print(text)
    sys.stdout.flush()
    return len(text) + 1


# ---- Calls into Erlang.


def call_erlang(name, *args):
    """erlang.call(name, *args) on the executor thread running this request."""
    return erlang.call(name, *args)


# ---- A thread waiting in erlang.call whose handler dies.


def call_from_thread(name, arg):
    """Runs erlang.call(name, arg) in a new thread; returns ('ok', value) or the exception."""
    got = {}

    def worker():
        try:
            got["r"] = ("ok", erlang.call(name, arg))
        except BaseException as e:  # reported to the suite
            got["r"] = ("raised", type(e).__name__, str(e))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    return got["r"]
