"""Functions the distribution suite runs on a peer node's Python."""

import os
import threading
import time


def thread_call(name, args):
    """Calls the Erlang function ``name`` from a new Python thread and returns
    its answer (or the text of its error)."""
    import erlang

    out = {}

    def run():
        try:
            out["value"] = erlang.call(name, *args)
        except Exception as e:  # noqa: BLE001 - the test wants the text
            out["value"] = "error: %s" % e

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return out["value"]


def pid_after(seconds):
    """Sleeps, then says which process ran it."""
    time.sleep(seconds)
    return os.getpid()


def tell(pid, tag):
    """Sends (tag, os pid) to the Erlang process pid (a cast shows it ran)."""
    import erlang

    erlang.send(pid, (tag, os.getpid()))


def pids(n):
    """A generator of n items, each the OS pid of the process that made it."""
    for _ in range(n):
        yield os.getpid()
