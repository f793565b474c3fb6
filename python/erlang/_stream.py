"""Streams of a generator's items to an Erlang process, with a credit window (py:stream_start/3,4).

Not imported by ``import erlang``: the node calls ``run`` through a request of
its own, which runs on one executor thread for the stream's whole life.
Items go to the owner with ``erlang.send`` (no round trip); the end of the
stream goes through the thread's handler process (a built-in request), the
same process that forwarded the items, so it arrives after the last of them.
"""

import asyncio
import importlib
import sys

from . import _builtin, send
from ._types import Atom

_STREAM = Atom("py_stream")
_DATA = Atom("data")


def _source(kind, spec):
    if kind == "call":
        module, function, args, kwargs = spec
        target = getattr(importlib.import_module(module), function)
        return target(*args, **dict(kwargs))
    if kind == "eval":
        code, local_names = spec
        return eval(code, vars(sys.modules["__main__"]), dict(local_names))
    raise ValueError("unknown stream source %r" % (kind,))


def _items(obj):
    """The items of an iterable or an async iterable, one at a time."""
    if hasattr(obj, "__aiter__"):
        loop = asyncio.new_event_loop()
        agen = obj.__aiter__()
        try:
            while True:
                try:
                    yield loop.run_until_complete(agen.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None:
                loop.run_until_complete(aclose())
            loop.close()
    else:
        it = iter(obj)
        try:
            yield from it
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()


def run(owner, ref, window, kind, spec):
    """Sends every item to ``owner`` as {py_stream, Ref, {data, Item}}, at most
    ``window`` unacknowledged (None: no limit), then done or the error."""
    allowed = window
    try:
        items = _items(_source(kind, spec))
        try:
            for item in items:
                send(owner, (_STREAM, ref, (_DATA, item)))
                if allowed is not None:
                    allowed -= 1
                    while allowed <= 0:
                        # Blocks until the owner acknowledges: the generator is
                        # not advanced while the window is full.
                        allowed += _builtin("stream_credit", ref)
        finally:
            items.close()
    except BaseException as e:
        _builtin("stream_end", [owner, ref, [type(e).__name__, str(e)]])
        if not isinstance(e, Exception):
            raise
        return None
    _builtin("stream_end", [owner, ref, []])
    return None


def collect(kind, spec):
    """Every item of the source as one list (py:stream/3,4, py:stream_eval/1,2)."""
    return list(_items(_source(kind, spec)))
