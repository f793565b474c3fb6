"""Python fixtures for py_stream_SUITE: generators that say how far they got."""
import asyncio
import threading

_lock = threading.Lock()
PRODUCED = {"count": 0, "closed": False}


def numbers(n):
    """0 .. n-1, counting what was produced; records when it is closed."""
    with _lock:
        PRODUCED["count"] = 0
        PRODUCED["closed"] = False
    try:
        for i in range(n):
            with _lock:
                PRODUCED["count"] += 1
            yield i
    finally:
        with _lock:
            PRODUCED["closed"] = True


def produced():
    with _lock:
        return (PRODUCED["count"], PRODUCED["closed"])


def fails_after(n):
    for i in range(n):
        yield i
    raise ValueError("generator failed after %d" % n)


async def slow_squares(n):
    for i in range(n):
        await asyncio.sleep(0.001)
        yield i * i


def words(sep=" "):
    return iter("a b c".split(sep))
