"""Python side of the benchmark: erlang.call('add', 1, 2) timed from Python threads."""
import threading
import time

import erlang


def _calls(count, samples):
    call = erlang.call
    clock = time.perf_counter_ns
    for _ in range(count):
        start = clock()
        call('add', 1, 2)
        samples.append(clock() - start)


def _in_threads(threads, count, warmup):
    """Runs `count` calls in each of `threads` new threads; returns (elapsed ns, samples)."""
    per_thread = [[] for _ in range(threads)]
    ready = threading.Barrier(threads + 1)

    def run(samples):
        _calls(warmup, [])  # the first call takes a channel and spawns its handler
        ready.wait()
        _calls(count, samples)

    workers = [threading.Thread(target=run, args=(s,)) for s in per_thread]
    for w in workers:
        w.start()
    ready.wait()
    start = time.perf_counter_ns()
    for w in workers:
        w.join()
    elapsed = time.perf_counter_ns() - start
    return elapsed, [x for s in per_thread for x in s]


def reverse(count):
    """One Python thread, `count` erlang.calls, each timed: (elapsed ns, [ns])."""
    return _in_threads(1, count, 100)


def fanout(threads, count):
    """`threads` Python threads x `count` erlang.calls: (elapsed ns, [ns])."""
    return _in_threads(threads, count, 10)


async def sleeper(seconds):
    """async_concurrency: a coroutine that awaits a timer."""
    import asyncio

    await asyncio.sleep(seconds)


def burn(n):
    """pool_cpu: pure-Python CPU work, n loop iterations (the GIL held throughout)."""
    total = 0
    for i in range(n):
        total += i * i
    return total
