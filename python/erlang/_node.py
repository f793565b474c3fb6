"""What py:memory_stats/0, py:reload/1 and py:gc/0,1 ask of the interpreter (not imported by ``import erlang``)."""

import gc
import importlib
import sys

from ._types import Atom


def memory_stats():
    """The garbage collector's figures, and tracemalloc's when it traces."""
    stats = {
        Atom("gc_stats"): [dict((Atom(k), v) for k, v in g.items()) for g in gc.get_stats()],
        Atom("gc_count"): gc.get_count(),
        Atom("gc_threshold"): gc.get_threshold(),
    }
    tracemalloc = sys.modules.get("tracemalloc")
    if tracemalloc is not None and tracemalloc.is_tracing():
        current, peak = tracemalloc.get_traced_memory()
        stats[Atom("traced_memory_current")] = current
        stats[Atom("traced_memory_peak")] = peak
    return stats


def reload(name):
    """Reloads the module ``name`` if it was imported (importlib.reload); imports it otherwise."""
    module = sys.modules.get(name)
    if module is None:
        importlib.import_module(name)
    else:
        importlib.reload(module)
