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
