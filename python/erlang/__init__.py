"""Call Erlang from Python: the Python side of the erlang_python OTP application.

Any Python thread may call ``erlang.call('name', *args)`` to run an Erlang
function registered with ``py:register_function/2,3``. The calling thread
gets its own channel and Erlang handler process; the GIL is released while it
waits, so other threads keep running. Errors raised by the Erlang function
arrive as :class:`ErlangError`, a subclass of ``RuntimeError``.

Registered functions can also be reached as attributes::

    erlang.double_it(21)          # same as erlang.call('double_it', 21)
    from erlang import add_one
"""

from ._types import Atom, ErlangError, ImproperList, OpaqueTerm, Pid, Ref

try:
    from _erlang import call, send
except ImportError:  # imported outside the port (e.g. by tests or tools)

    def call(name, *args):
        """Run the Erlang function registered as ``name``; only inside the port."""
        raise RuntimeError("erlang.call is only available inside the erlang_python port")

    def send(pid, term):
        """Send ``term`` to the Erlang process ``pid``; only inside the port."""
        raise RuntimeError("erlang.send is only available inside the erlang_python port")


__all__ = ["call", "send", "Atom", "Pid", "Ref", "OpaqueTerm", "ImproperList", "ErlangError"]


class _Function:
    """A registered Erlang function reached as ``erlang.<name>``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __call__(self, *args):
        return call(self.name, *args)

    def __repr__(self):
        return "<Erlang function %r>" % self.name


def __getattr__(name):
    # Module-level __getattr__ (PEP 562): only for names not defined above,
    # so erlang.call and friends are never shadowed. Dunder lookups made by
    # Python's machinery get the usual AttributeError.
    if name.startswith("__") and name.endswith("__"):
        raise AttributeError("module 'erlang' has no attribute %r" % name)
    return _Function(name)
