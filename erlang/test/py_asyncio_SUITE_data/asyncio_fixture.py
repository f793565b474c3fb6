"""Python fixtures for py_asyncio_SUITE: coroutine functions."""
import asyncio
import threading
import time

import erlang

_lock = threading.Lock()
EVENTS = []


def _record(name):
    with _lock:
        EVENTS.append(name)


def events():
    with _lock:
        return list(EVENTS)


async def add(a, b):
    await asyncio.sleep(0)
    return a + b


async def sleeper(seconds, value):
    await asyncio.sleep(seconds)
    return value


async def sleep_or_record_cancel(seconds, name):
    _record(name + ":started")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        _record(name + ":cancelled")
        raise
    _record(name + ":finished")


async def block_loop(seconds):
    """Blocks the event loop's thread (a blocking sleep in a coroutine)."""
    _record("block:started")
    time.sleep(seconds)
    return "done"


def running_tasks():
    """How many request tasks the port's event loop holds."""
    from erlang import _asyncio

    return len(_asyncio._tasks)


async def fails(message):
    await asyncio.sleep(0)
    raise ValueError(message)


async def gather_async_calls(n):
    """n concurrent erlang.async_call('double', i); the sum of the answers."""
    results = await asyncio.gather(*(erlang.async_call("double", i) for i in range(n)))
    return sum(results)


async def loop_thread_name():
    import threading as t

    return t.current_thread().name
