"""Value types that stand for Erlang terms with no native Python equivalent."""

__all__ = ["Atom", "Pid", "Ref", "OpaqueTerm", "ImproperList", "ErlangError"]


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
    """An Erlang list whose tail is not ``[]``: ``[1, 2 | tail]``."""

    __slots__ = ("items", "tail")

    def __init__(self, items, tail):
        self.items = list(items)
        self.tail = tail

    def __eq__(self, other):
        if not isinstance(other, ImproperList):
            return NotImplemented
        return self.items == other.items and self.tail == other.tail

    def __repr__(self):
        return "ImproperList(%r, %r)" % (self.items, self.tail)


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
