"""Value types that stand for Erlang terms with no native Python equivalent."""

# The same ABCs as collections.abc, from the module `os` has already loaded:
# importing the collections package would add ~2 ms to the port's start-up.
from _collections_abc import Mapping, Sequence

__all__ = [
    "Atom",
    "Pid",
    "Ref",
    "OpaqueTerm",
    "ImproperList",
    "FrozenList",
    "FrozenDict",
    "ErlangError",
    "register_encoder",
    "unregister_encoder",
]


class Atom(str):
    """An Erlang atom. A ``str`` subclass: ``Atom('ok') == 'ok'``.

    Atoms received from Erlang arrive as ``Atom`` and go back as the same
    atom; a plain ``str`` goes to Erlang as a binary. Only atoms that already
    exist in the Erlang node can be sent back (see the README's atom policy).
    """

    __slots__ = ()

    def __repr__(self):
        return "Atom(%s)" % str.__repr__(self)


class _Opaque:
    """A term kept as its exact external-format bytes so it returns unchanged."""

    __slots__ = ("etf",)

    def __init__(self, etf):
        if not isinstance(etf, bytes):
            raise TypeError("%s needs the term's ETF bytes" % type(self).__name__)
        object.__setattr__(self, "etf", etf)

    def __setattr__(self, name, value):
        raise AttributeError("%s is immutable" % type(self).__name__)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.etf == other.etf

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __lt__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.etf < other.etf

    def __hash__(self):
        return hash((type(self).__name__, self.etf))

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.etf)


class Pid(_Opaque):
    """An Erlang process identifier; hashable, comparable, usable with erlang.send."""

    __slots__ = ()


class Ref(_Opaque):
    """An Erlang reference; hashable and comparable."""

    __slots__ = ()


class OpaqueTerm(_Opaque):
    """A fun, port or bitstring: Python cannot use it, but can hand it back."""

    __slots__ = ("kind",)

    def __init__(self, kind, etf):
        super().__init__(etf)
        object.__setattr__(self, "kind", kind)

    def __repr__(self):
        return "OpaqueTerm(%r, %r)" % (self.kind, self.etf)


class ImproperList:
    """An Erlang list whose tail is not ``[]``: ``[1, 2 | tail]``.

    Hashable when its items and tail are, so that it can be a dict key (as it
    is when it arrives as a key of an Erlang map); do not change one that is.
    """

    __slots__ = ("items", "tail")

    def __init__(self, items, tail):
        self.items = list(items)
        self.tail = tail

    def __eq__(self, other):
        if not isinstance(other, ImproperList):
            return NotImplemented
        return self.items == other.items and self.tail == other.tail

    def __hash__(self):
        return hash(("ImproperList", tuple(self.items), self.tail))

    def __repr__(self):
        return "ImproperList(%r, %r)" % (self.items, self.tail)


class FrozenList(Sequence):
    """An Erlang list used as a map key: a hashable, read-only sequence.

    Python dict keys must be hashable, so a list key of an Erlang map arrives
    as ``FrozenList`` (its items frozen the same way) and goes back as a list.
    It equals another ``FrozenList`` with equal items, never a tuple or list,
    so ``#{[1] => a, {1} => b}`` keeps both keys.
    """

    __slots__ = ("items",)

    def __init__(self, items=()):
        object.__setattr__(self, "items", tuple(items))

    def __setattr__(self, name, value):
        raise AttributeError("FrozenList is immutable")

    def __getitem__(self, index):
        return self.items[index]

    def __len__(self):
        return len(self.items)

    def __eq__(self, other):
        if type(other) is not FrozenList:
            return NotImplemented
        return self.items == other.items

    def __hash__(self):
        return hash(("FrozenList", self.items))

    def __repr__(self):
        return "FrozenList(%r)" % (list(self.items),)


class FrozenDict(Mapping):
    """An Erlang map used as a map key: a hashable, read-only mapping.

    It equals another ``FrozenDict`` with the same items (not a ``dict``)
    and goes back to Erlang as a map.
    """

    __slots__ = ("_items", "_hash")

    def __init__(self, items=()):
        object.__setattr__(self, "_items", dict(items))
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name, value):
        raise AttributeError("FrozenDict is immutable")

    def __getitem__(self, key):
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __eq__(self, other):
        if type(other) is not FrozenDict:
            return NotImplemented
        return self._items == other._items

    def __hash__(self):
        if self._hash is None:
            object.__setattr__(self, "_hash", hash(("FrozenDict", frozenset(self._items.items()))))
        return self._hash

    def __repr__(self):
        return "FrozenDict(%r)" % (self._items,)


def _freeze(value):
    """The hashable form of a decoded map key: lists, maps and improper lists
    (at any depth) become FrozenList, FrozenDict and hashable ImproperList.
    Called by the port's decoder only for keys Python cannot hash."""
    if isinstance(value, list):
        return FrozenList(_freeze(v) for v in value)
    if isinstance(value, dict):
        return FrozenDict((_freeze(k), _freeze(v)) for k, v in value.items())
    if isinstance(value, tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, ImproperList):
        return ImproperList([_freeze(v) for v in value.items], _freeze(value.tail))
    return value


# Custom encoders, by class: read by the port's encoder (term_codec.cpp) for
# objects that are not one of the built-in types it converts directly.
_encoders = {}

# Exact built-in classes the encoder converts before it looks at hooks: an
# encoder registered for one of them would never run, so it is refused.
_direct = (type(None), bool, int, float, str, bytes, list, tuple, dict)


def register_encoder(cls, encoder):
    """Make ``encoder(obj)`` the Erlang form of every instance of ``cls``.

    ``encoder`` returns any value the port can convert (it may return another
    registered type). Subclasses of ``cls`` use it too, unless they have their
    own. Registered encoders come before a ``__erlang__`` method and before
    the built-in handling of subclasses (an ``IntEnum`` member is an ``int``
    unless an encoder says otherwise). Encoders for ``int``, ``str``, ``list``
    and the other exact built-in types are refused: those are converted
    directly, for speed.
    """
    if not isinstance(cls, type):
        raise TypeError("register_encoder: expected a class, got %r" % (cls,))
    if not callable(encoder):
        raise TypeError("register_encoder: the encoder must be callable")
    if cls in _direct:
        raise ValueError(
            "register_encoder: %s is converted directly and cannot have an encoder" % cls.__name__
        )
    _encoders[cls] = encoder


def unregister_encoder(cls):
    """Remove the encoder registered for ``cls``; no error if there is none."""
    _encoders.pop(cls, None)


class ErlangError(RuntimeError):
    """An Erlang function called with ``erlang.call`` raised, exited or threw.

    ``str(e)`` is the formatted Erlang error; ``erlang_class`` is the class
    (``'error'``, ``'exit'`` or ``'throw'``), ``reason`` the reason as a
    Python value and ``stacktrace`` the Erlang stack trace as text.
    """

    def __init__(self, message, erlang_class=None, reason=None, stacktrace=""):
        super().__init__(message)
        self.erlang_class = erlang_class
        self.reason = reason
        self.stacktrace = stacktrace
