"""Python fixtures for py_handles_SUITE: objects whose end can be seen from Erlang."""
import threading

_lock = threading.Lock()
FINALISED = set()


class Tracked:
    """An object that records its name in FINALISED when it is freed."""

    def __init__(self, name, items=()):
        self.name = name
        self.items = list(items)

    def add(self, item, times=1):
        self.items.extend([item] * times)
        return len(self.items)

    def __del__(self):
        with _lock:
            FINALISED.add(self.name)


def tracked(name, items=()):
    return Tracked(name, items)


def finalised(name):
    with _lock:
        return name in FINALISED


def describe(obj, nested=None):
    """What an argument arrived as: its class name, and a nested one's."""
    return (type(obj).__name__, None if nested is None else [type(x).__name__ for x in nested["objs"]])


def same(a, b):
    return a is b


class Unconvertible:
    pass


def unconvertible():
    return Unconvertible()
