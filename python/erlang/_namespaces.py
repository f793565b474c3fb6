"""Process-bound namespaces: the globals of each Erlang process's py:eval and py:exec."""

import builtins
import sys

# NamespaceId (an integer Erlang chose) -> the globals dict. Only touched with
# the GIL held, by single dict operations, so no lock is needed.
_spaces = {}


def get(ns_id):
    """The globals of namespace ``ns_id``, made on first use: a fresh module-like
    namespace named ``__main__`` with the package ``erlang`` bound, as
    ``__main__`` has it for eval and exec."""
    space = _spaces.get(ns_id)
    if space is None:
        fresh = {"__name__": "__main__", "__builtins__": builtins, "erlang": sys.modules["erlang"]}
        space = _spaces.setdefault(ns_id, fresh)
    return space


def lookup(ns_id, module, name):
    """The object ``name`` names in namespace ``ns_id`` when ``module`` is
    ``__main__`` and the namespace defines it, else None (the caller then looks
    in the real module)."""
    if module != "__main__":
        return None
    space = _spaces.get(ns_id)
    if space is None:
        return None
    return space.get(name)


def drop(ns_id):
    """Forgets namespace ``ns_id`` (its owner died or closed it); an unknown id is no error."""
    space = _spaces.pop(ns_id, None)
    if space is not None:
        # Functions defined there hold the dict as their globals: clearing it
        # breaks that cycle, so the memory goes back at once, not at the next
        # collection.
        space.clear()
    return None


def count():
    """How many namespaces are alive."""
    return len(_spaces)
