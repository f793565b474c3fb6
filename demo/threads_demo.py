"""The threading scenarios of the user's specification, run by demo/demo.escript."""

import threading
from concurrent.futures import ThreadPoolExecutor

import erlang


def thread_worker(arg1, arg2):
    """A threading.Thread worker calls erlang.call('my_function', arg1, arg2)."""
    results = []

    def worker():
        result = erlang.call("my_function", arg1, arg2)
        print(f"Got: {result}")
        results.append(result)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    return results[0]


def pool_map():
    """ThreadPoolExecutor workers call double_it on range(10)."""

    def call_erlang(x):
        return erlang.call("double_it", x)

    with ThreadPoolExecutor(max_workers=4) as executor:
        return list(executor.map(call_erlang, range(10)))


def chained():
    """One thread chains three add_one calls: 0 -> 3."""
    out = []

    def worker():
        x = erlang.call("add_one", 0)
        x = erlang.call("add_one", x)
        x = erlang.call("add_one", x)
        out.append(x)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    return out[0]


def ten_threads():
    """Ten threads each call double_it(n)."""
    results = [None] * 10

    def worker(n):
        results[n] = erlang.call("double_it", n)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def error_handling():
    """An Erlang error becomes a RuntimeError in the calling thread."""
    caught = []

    def worker():
        try:
            erlang.call("maybe_fail", 42)
        except RuntimeError as e:
            caught.append(f"Erlang error: {e}")

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    return caught[0]
