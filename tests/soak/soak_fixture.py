"""Python side of the chaos soak (tests/soak/py_soak.erl): the workload's functions and its faults."""

import ctypes
import faulthandler
import os
import signal
import threading
import time

import erlang

# SIGUSR2 writes every thread's Python traceback to SOAK_TRACE_DIR/port-PID.txt: the soak
# sends it when the coordinator gives up on a cancelled request (what was still running?).
if os.environ.get("SOAK_TRACE_DIR"):
    _traces = open(os.path.join(os.environ["SOAK_TRACE_DIR"], "port-%d.txt" % os.getpid()), "w")
    faulthandler.register(signal.SIGUSR2, file=_traces, all_threads=True)


def echo(x):
    """Returns its argument unchanged: the short calls and the large payloads."""
    return x


def size(data):
    """len(data): a large payload one way, a small answer back."""
    return len(data)


def sleep(seconds):
    """time.sleep: a timeout interrupts it."""
    time.sleep(seconds)
    return "slept"


def spin(seconds):
    """A pure-Python busy loop: a timeout interrupts it between bytecodes."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass
    return "spun"


def reverse(threads, calls):
    """`threads` Python threads each make `calls` erlang.call('soak_add', i, 1).

    Returns the number of right answers, or raises the first failure."""
    right = [0] * threads
    failed = []

    def worker(t):
        try:
            for i in range(calls):
                if erlang.call("soak_add", i, t) == i + t:
                    right[t] += 1
        except BaseException as e:  # reported to Erlang below
            failed.append(e)

    ts = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if failed:
        raise failed[0]
    return sum(right)


def nest(depth):
    """Re-entrant: Python -> erlang.call('soak_nest', depth - 1) -> py:call(nest) ... down to 0."""
    if depth <= 0:
        return 0
    return erlang.call("soak_nest", depth - 1) + 1


def os_pid():
    """The OS process id of the port: which port answered."""
    return os.getpid()


# ---- Faults.


def exit_now(status):
    """os._exit(status) from the executor thread running this request."""
    os._exit(int(status))


def c_block(seconds):
    """libc sleep(): C code that ignores the asynchronous exception of a timeout."""
    ctypes.CDLL(None).sleep(int(seconds))
    return "woke"


def segfault():
    """SIGSEGV in C code (a NULL read)."""
    ctypes.string_at(0)


def sigkill():
    """SIGKILL to the port itself."""
    os.kill(os.getpid(), signal.SIGKILL)
