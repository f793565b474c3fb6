"""Call Erlang from Python: the Python side of the erlang_python OTP application.

Any Python thread may call ``erlang.call('name', *args)`` to run an Erlang
function registered with ``py:register_function/2,3``. The calling thread
gets its own channel and Erlang handler process; the GIL is released while it
waits, so other threads keep running. Errors raised by the Erlang function
arrive as :class:`ErlangError`, a subclass of ``RuntimeError``.

Registered functions can also be reached as attributes::

    erlang.double_it(21)          # same as erlang.call('double_it', 21)
    from erlang import add_one

Values convert as the README's type table says; ``register_encoder`` (or a
``__erlang__`` method) gives other classes an Erlang form, and ``new_atom``
is the one way Python creates an atom the Erlang node does not have yet.
"""

import _thread

from . import _types
from ._types import (
    Atom,
    ErlangError,
    FrozenDict,
    FrozenList,
    ImproperList,
    OpaqueTerm,
    Pid,
    Ref,
    register_encoder,
    unregister_encoder,
)

try:
    from _erlang import builtin as _builtin
    from _erlang import call, send
except ImportError:  # imported outside the port (e.g. by tests or tools)

    def call(name, *args):
        """Run the Erlang function registered as ``name``; only inside the port."""
        raise RuntimeError("erlang.call is only available inside the erlang_python port")

    def send(pid, term):
        """Send ``term`` to the Erlang process ``pid``; only inside the port."""
        raise RuntimeError("erlang.send is only available inside the erlang_python port")

    def _builtin(request, arg):
        raise RuntimeError("erlang.%s is only available inside the erlang_python port" % request)


_MAX_ATOM_CHARS = 255


def new_atom(name):
    """Return ``Atom(name)``, creating the atom in the Erlang node if it is new.

    An ``erlang.Atom`` can be sent to Erlang only if the atom already exists
    there (the node decodes replies with ``binary_to_term(_, [safe])``). This
    asks the node to create it: at most ``max_new_atoms`` atoms (application
    environment, default 10000) are created this way per start of the
    application; past that it raises ``erlang.ErlangError``. Atoms that
    already exist never count. One round trip to Erlang per call.
    """
    if not isinstance(name, str):
        raise TypeError("new_atom: the name must be a str, not %s" % type(name).__name__)
    if len(name) > _MAX_ATOM_CHARS:
        raise ValueError("new_atom: an atom has at most %d characters" % _MAX_ATOM_CHARS)
    _builtin("new_atom", str(name))
    return Atom(name)


# Shared state: a key-value table in the Erlang node (ETS), shared by every
# Python thread and process of the application and by Erlang code
# (py:state_store/fetch/...); it outlives port restarts. Keys and values are
# any terms (str keys arrive as binaries). One round trip to Erlang per call.


def state_get(key):
    """The value stored under ``key``, or None."""
    return _builtin("state", ["get", key])


def state_set(key, value):
    """Stores ``value`` under ``key``."""
    _builtin("state", ["set", key, value])


def state_delete(key):
    """Removes ``key`` (nothing happens if it is absent)."""
    _builtin("state", ["delete", key])


def state_keys():
    """Every key stored, in no particular order."""
    return _builtin("state", ["keys"])


def state_clear():
    """Removes every key."""
    _builtin("state", ["clear"])


def state_incr(key, amount=1):
    """Adds ``amount`` to the integer under ``key`` (0 if absent), atomically; the new value."""
    return _builtin("state", ["incr", key, amount])


def state_decr(key, amount=1):
    """Subtracts ``amount`` from the integer under ``key`` (0 if absent), atomically."""
    return _builtin("state", ["incr", key, -amount])


def whereis(name):
    """The ``erlang.Pid`` of the process registered as ``name`` in the node, or None."""
    if not isinstance(name, str):
        raise TypeError("whereis: the name must be a str, not %s" % type(name).__name__)
    return _builtin("whereis", str(name))


def async_call(name, *args):
    """``await erlang.async_call(name, *args)``: erlang.call from asyncio code
    without blocking the event loop (see erlang._asyncio)."""
    from ._asyncio import async_call as _async_call

    return _async_call(name, *args)


def async_send(pid, term):
    """``await erlang.async_send(pid, term)``: the awaitable form of erlang.send."""
    from ._asyncio import async_send as _async_send

    return _async_send(pid, term)


def run(coro):
    """Runs a coroutine to completion on a new event loop in this thread and
    returns its result (``asyncio.run``). A coroutine *returned* to Erlang by
    ``py:call`` needs no such call: it runs on the port's own loop."""
    import asyncio

    return asyncio.run(coro)


# Everything _types exports, plus the calls into Erlang.
__all__ = [
    "call",
    "send",
    "new_atom",
    "state_get",
    "state_set",
    "state_delete",
    "state_keys",
    "state_clear",
    "state_incr",
    "state_decr",
    "whereis",
    "async_call",
    "async_send",
    "run",
] + _types.__all__


class _Function:
    """A registered Erlang function reached as ``erlang.<name>``."""

    __slots__ = ("name",)

    def __init__(self, name):
        self.name = name

    def __call__(self, *args):
        return call(self.name, *args)

    def __repr__(self):
        return "<Erlang function %r>" % self.name


# The names registered with py:register_function, as the node last told us
# (it sends the whole set, numbered, after every change and when the port
# starts). Only the attribute form reads it: erlang.call('name') works for
# any name and leaves the check to Erlang.
_registered = frozenset()
_registered_version = -1
_registered_lock = _thread.allocate_lock()  # not threading: its import costs ms


def _set_functions(version, names):
    """Called by the node: the registered names as of change number ``version``.

    Updates can arrive out of order from different Erlang processes; the one
    with the highest number wins.
    """
    global _registered, _registered_version
    names = frozenset(str(n) for n in names)
    with _registered_lock:
        if version > _registered_version:
            _registered = names
            _registered_version = version


def __getattr__(name):
    # Module-level __getattr__ (PEP 562): only for names not defined above,
    # so erlang.call and friends are never shadowed. A name no Erlang
    # function is registered under is an AttributeError (so hasattr() is
    # False, `from erlang import x` an ImportError and a misspelt
    # erlang.async_cal fails at once), as for any module.
    if name == "LogHandler":
        # Imported on first use: `import erlang` does not import logging.
        from ._logging import LogHandler

        return LogHandler
    if name in _registered:
        return _Function(name)
    raise AttributeError(
        "module 'erlang' has no attribute %r (no Erlang function is registered under that "
        "name; see py:register_function/2)" % name
    )


def __dir__():
    return sorted(set(globals()) | _registered | {"LogHandler"})
