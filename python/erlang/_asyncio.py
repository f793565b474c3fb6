"""The port's event loop: coroutines called from Erlang, and erlang.async_call.

Not imported by ``import erlang``. When a request from Erlang (``py:call``,
``py:async_call``) returns a coroutine, the port hands it to ``submit``: it
runs as a task on one event loop thread owned by the port, and the task
sends the reply when it finishes, so thousands of calls that await I/O share
that thread instead of holding an executor each. A timeout or a cancel from
Erlang cancels the task (``CancelledError`` inside the coroutine).
"""

import asyncio
import collections
import concurrent.futures
import functools
import threading

from _erlang import _reply

_lock = threading.Lock()
_loop = None
_tasks = {}  # request ref -> task, touched on the loop thread only
# Refs cancelled before their task started (the cancel can overtake the
# submit), oldest first; bounded, as most cancelled refs never had a task.
# Touched on the loop thread only.
_early_cancels = collections.OrderedDict()
_MAX_EARLY_CANCELS = 4096
_executor = None


def loop():
    """The port's event loop, started on its own daemon thread on first use."""
    global _loop
    with _lock:
        if _loop is None:
            new = asyncio.new_event_loop()
            threading.Thread(target=new.run_forever, name="erlang-event-loop", daemon=True).start()
            _loop = new
        return _loop


def submit(coro, channel, ref):
    """Runs ``coro`` on the port's loop; its result becomes request ``ref``'s reply."""
    asyncio.run_coroutine_threadsafe(_run(coro, channel, ref), loop())


async def _run(coro, channel, ref):
    _tasks[ref] = asyncio.current_task()
    try:
        if _early_cancels.pop(ref, False):
            coro.close()
            raise asyncio.CancelledError()
        value = await coro
    except BaseException as e:  # CancelledError included: the caller gave up
        _reply(channel, ref, None, e)
    else:
        _reply(channel, ref, value, None)
    finally:
        _tasks.pop(ref, None)


def cancel(ref):
    """Cancels the task of request ``ref``, if it still runs."""
    if _loop is not None:
        _loop.call_soon_threadsafe(_cancel, ref)


def _cancel(ref):
    task = _tasks.get(ref)
    if task is not None:
        task.cancel()
        return
    _early_cancels[ref] = True
    if len(_early_cancels) > _MAX_EARLY_CANCELS:
        _early_cancels.popitem(last=False)


def _call_executor():
    global _executor
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=64, thread_name_prefix="erlang-async-call"
            )
        return _executor


async def async_call(name, *args):
    """``await erlang.async_call(name, *args)``: erlang.call without blocking the loop.

    The call runs on one of 64 threads kept for this (each with its channel
    and Erlang handler process), so the event loop serves other tasks
    meanwhile.
    """
    from . import call

    running = asyncio.get_running_loop()
    return await running.run_in_executor(_call_executor(), functools.partial(call, name, *args))


async def async_send(pid, term):
    """``await erlang.async_send(pid, term)``: erlang.send (which never blocks), awaitable."""
    from . import send

    send(pid, term)
