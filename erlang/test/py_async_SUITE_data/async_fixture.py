"""Python fixtures for py_async_SUITE: calls that record what happened to them."""
import threading
import time

_lock = threading.Lock()
EVENTS = []


def record(name):
    with _lock:
        EVENTS.append(name)
    return name


def events():
    with _lock:
        return list(EVENTS)


def clear():
    with _lock:
        EVENTS.clear()


def fail(message):
    raise ValueError(message)


def sleep_then(seconds, value):
    time.sleep(seconds)
    return value


def sleep_or_record_interrupt(seconds, name):
    """Records `name` + ':started', sleeps; records ':interrupted' if cancelled."""
    record(name + ":started")
    try:
        time.sleep(seconds)
    except TimeoutError:
        record(name + ":interrupted")
        raise
    return record(name + ":finished")
