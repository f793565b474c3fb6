"""Python side of py_venv_SUITE: what a child process started from the port sees."""

import multiprocessing
import subprocess
import sys


def child_prefix():
    """sys.prefix of ``sys.executable`` run as a subprocess."""
    out = subprocess.run(
        [sys.executable, "-c", "import sys; print(sys.prefix)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _prefix():
    return sys.prefix


def spawned_prefix():
    """sys.prefix in a multiprocessing worker started with the 'spawn' method."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(_prefix)


def importable(name):
    """Whether ``import name`` works, and the module's file."""
    try:
        module = __import__(name)
    except ImportError:
        return False
    return getattr(module, "__file__", None) or True
