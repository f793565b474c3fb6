"""Python side of py_thread_SUITE: erlang.call from threads the fixture starts itself.

Every function is called from Erlang with py:call(thread_fixture, Name, Args)
and returns plain values (lists, tuples, numbers, strings, pids) that the
suite matches exactly. Worker threads store what they got; the function
joins them and returns it, so an exception in a thread is never lost.
"""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import erlang


def _run_threads(targets):
    """Start one thread per callable, join them all, return their results in order.

    A thread that raised returns ('raised', 'TypeName: message') instead.
    """
    results = [None] * len(targets)

    def wrap(i, target):
        try:
            results[i] = target()
        except BaseException as e:  # reported to the suite, not swallowed
            results[i] = ("raised", "%s: %s" % (type(e).__name__, e))

    threads = [threading.Thread(target=wrap, args=(i, t)) for i, t in enumerate(targets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---- The spec's scenarios.


def call_in_thread(a, b):
    """threading.Thread worker: erlang.call('my_function', a, b)."""
    got = {}

    def worker():
        got["result"] = erlang.call("my_function", a, b)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    return got["result"]


def pool_map():
    """ThreadPoolExecutor(max_workers=4).map(double_it) over range(10)."""

    def call_erlang(x):
        return erlang.call("double_it", x)

    with ThreadPoolExecutor(max_workers=4) as executor:
        return list(executor.map(call_erlang, range(10)))


def chain_in_thread():
    """One thread, three sequential calls: add_one(add_one(add_one(0)))."""
    got = {}

    def worker():
        x = erlang.call("add_one", 0)
        x = erlang.call("add_one", x)
        x = erlang.call("add_one", x)
        got["result"] = x

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    return got["result"]


def ten_workers():
    """10 threads; thread n returns (n, double_it(n), add_one(n))."""

    def worker(n):
        return lambda: (n, erlang.call("double_it", n), erlang.call("add_one", n))

    return _run_threads([worker(n) for n in range(10)])


def error_then_success():
    """A thread catches RuntimeError from maybe_fail(0), then calls maybe_fail(5)."""

    def worker():
        try:
            erlang.call("maybe_fail", 0)
            caught = None
        except RuntimeError as e:
            caught = (
                type(e).__name__,
                isinstance(e, erlang.ErlangError),
                str(e),
                e.erlang_class,
                e.reason,
            )
        after = erlang.call("maybe_fail", 5)
        return (caught, after)

    return _run_threads([worker])[0]


# ---- Stress: no result is ever delivered to the wrong thread.


def stress(threads, tasks, chain):
    """threads x tasks x chain calls of erlang.call('step', t, k, i).

    'step' answers (t, k, i + 1): the thread checks every answer names its
    own thread and task, and feeds i + 1 into the next call. Each thread
    returns the list of (t, k, final_i) it reached plus the mismatches it saw.
    """

    def worker(t):
        def run():
            finals = []
            wrong = []
            for k in range(tasks):
                i = 0
                for _ in range(chain):
                    got = erlang.call("step", t, k, i)
                    if got != (t, k, i + 1):
                        wrong.append((t, k, i, got))
                    i = got[2]
                finals.append((t, k, i))
            return (finals, wrong)

        return run

    return _run_threads([worker(t) for t in range(threads)])


# ---- Concurrency of slow Erlang functions.


def parallel_slow(n, ms, notify):
    """n threads each call slow(ms, notify); returns (results, elapsed ms)."""
    start = time.monotonic()
    results = _run_threads([lambda: erlang.call("slow", ms, notify) for _ in range(n)])
    return (results, round((time.monotonic() - start) * 1000))


# ---- Python -> Erlang -> Python recursion.


def recurse(n):
    """[n] + down(n) until 0; 'down' calls back into recurse(n - 1)."""
    if n == 0:
        return [0]
    return [n] + erlang.call("down", n)


def block_on_gate(test, i):
    """Occupies the executor running it until the suite opens the gate."""
    return erlang.call("gate", test, i)


def recurse_in_background(n, test):
    """Starts a thread that waits for the suite's go, recurses n deep, sends the result."""

    def run():
        try:
            erlang.call("await_go", test)
            result = (erlang.Atom("ok"), recurse(n))
        except BaseException as e:
            result = (erlang.Atom("error"), "%s: %s" % (type(e).__name__, e))
        erlang.send(test, (erlang.Atom("recursed"), result))

    threading.Thread(target=run, daemon=True).start()
    return erlang.Atom("started")


# ---- Channels and handlers are pooled.


def short_lived_threads(total, batch):
    """total threads, batch alive at a time, each making one add_one(i) call."""
    results = [None] * total
    for first in range(0, total, batch):
        last = min(first + batch, total)

        def worker(i):
            results[i] = erlang.call("add_one", i)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(first, last)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    return results


def handler_rounds(rounds, width):
    """rounds x width threads, all width alive together, each asking 'whoami'.

    Returns, per round, the handler pids that answered.
    """
    out = []
    for _ in range(rounds):
        barrier = threading.Barrier(width)

        def worker():
            pid = erlang.call("whoami")
            barrier.wait()  # keep every thread (and its channel) alive together
            return pid

        out.append(_run_threads([worker] * width))
    return out


# ---- Errors, messages, term round-trips, attribute syntax.


def unknown_function(name):
    """A thread calls an unregistered name; returns what it caught."""

    def worker():
        try:
            erlang.call(name, 1)
            return None
        except Exception as e:
            return (type(e).__name__, isinstance(e, RuntimeError), str(e))

    return _run_threads([worker])[0]


def call_arguments():
    """erlang.call's argument forms from a thread: what each returned or raised."""

    def attempt(f):
        try:
            return ("ok", f())
        except Exception as e:
            return (type(e).__name__, str(e))

    def worker():
        return [
            attempt(lambda: erlang.call(name="whoami")),
            attempt(lambda: erlang.call("double_it", *[21])),
            attempt(lambda: erlang.call(type("S", (str,), {})("double_it"), 4)),
            attempt(lambda: erlang.call(b"double_it", 1)),
            attempt(lambda: erlang.call(1)),
            attempt(lambda: erlang.call()),
            attempt(lambda: erlang.call("double_it", 1, x=2)),
            attempt(lambda: erlang.call("double_it", name="x")),
            attempt(lambda: erlang.call("echo", object())),
        ]

    return _run_threads([worker])[0]


def send_from_thread(pid, payload):
    """A thread sends (thread_sent, payload) to pid."""

    def worker():
        erlang.send(pid, (erlang.Atom("thread_sent"), payload))
        return erlang.Atom("sent")

    return _run_threads([worker])[0]


def identity(term):
    return term


def identity_via_thread(term):
    """A thread passes term to the Erlang 'echo' function and returns its answer."""
    return _run_threads([lambda: erlang.call("echo", term)])[0]


def attribute_syntax():
    """erlang.double_it(21) and `from erlang import add_one` in a thread."""

    def worker():
        from erlang import add_one

        return (erlang.double_it(21), add_one(41))

    return _run_threads([worker])[0]


# ---- The GIL is released while a thread waits on Erlang.


def cpu_progress_during_wait(ms):
    """A spinning thread counts while another thread waits ms in Erlang.

    Returns (slow's result, iterations during the wait, wait in ms).
    """
    state = {"n": 0, "stop": False}
    spinning = threading.Event()

    def spin():
        spinning.set()
        while not state["stop"]:
            state["n"] += 1

    def wait():
        spinning.wait()
        before = state["n"]
        start = time.monotonic()
        result = erlang.call("slow", ms)
        waited = round((time.monotonic() - start) * 1000)
        after = state["n"]
        state["stop"] = True
        return (result, after - before, waited)

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        return _run_threads([wait])[0]
    finally:
        state["stop"] = True
        spinner.join()


def call_then_stay_away(test, calls, seconds):
    """A thread of our own makes `calls` erlang.calls (so it reads its own
    results and owns the port's parked reading between them), tells the
    test, then stays away from Erlang for `seconds` and exits."""

    def run():
        for i in range(calls):
            erlang.call("echo", i)
        erlang.send(test, erlang.Atom("called"))
        time.sleep(seconds)

    threading.Thread(target=run, daemon=True).start()
    return "started"


def busy(seconds):
    """Computes for `seconds` without blocking (no sleep, no erlang.call)."""
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        n += 1
    return n
