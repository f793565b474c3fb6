"""Python side of py_types_SUITE: identity, the type-mapping samples, and a
Hypothesis property run inside the port."""

import enum
import sys

import erlang
from erlang import Atom


def identity(x):
    return x


def identity_through_erlang(x):
    """Python -> Erlang -> Python: the value as a registered Erlang identity returns it."""
    return erlang.call("identity", x)


def numpy_loaded():
    return "numpy" in sys.modules


class Colour(enum.IntEnum):
    RED = 1
    GREEN = 2


class Name(str):
    pass


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Temperature:
    def __init__(self, kelvin):
        self.kelvin = kelvin

    def __erlang__(self):
        return (Atom("kelvin"), self.kelvin)


def python_samples():
    """One value of each Python type the README's table lists, by name."""
    erlang.register_encoder(Point, lambda p: {"x": p.x, "y": p.y})
    return {
        "bool": [True, False],
        "int_enum": Colour.GREEN,
        "str_subclass": Name("abc"),
        "bytearray": bytearray(b"\x00\x01"),
        "memoryview": memoryview(b"view"),
        "set": {3, 1, 2},
        "frozenset": frozenset(["b", "a"]),
        "mixed_set": {1, "a"},
        "dict_keys": {"k": 1}.keys(),
        "range": range(3),
        "registered": Point(1, 2),
        "dunder": Temperature(300),
        "none": None,
        "nan": float("nan"),
        "inf": [float("inf"), float("-inf")],
        "bignum": -(2**200),
    }


def generator():
    return (i for i in range(3))


def unsupported():
    return [1, object()]


def numpy_samples():
    import numpy as np

    return {
        "int64": np.int64(7),
        "float32": np.float32(0.5),
        "float64": np.float64(2.5),
        "bool": np.bool_(True),
        "vector": np.arange(3),
        "matrix": np.array([[1.5, 2.5], [3.5, 4.5]]),
        "zero_d": np.array(9),
        "str": np.str_("s"),
    }


def raise_named(name):
    raise type(name, (Exception,), {})("boom")


def many_strings(n, tag):
    return ["%s-%d" % (tag, i) for i in range(n)]


def unknown_atoms(n, tag):
    return [Atom("%s_%d" % (tag, i)) for i in range(n)]


def make_atom(name):
    return erlang.new_atom(name)


def make_atoms(names):
    out = []
    for name in names:
        try:
            out.append(erlang.new_atom(name))
        except erlang.ErlangError as e:
            out.append((Atom("error"), str(e)))
    return out


def nested_list(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


def depth_of(value):
    depth = 0
    while isinstance(value, list) and value:
        value = value[0]
        depth += 1
    return depth + 1


# ---- Hypothesis: Python values through an Erlang identity function ----------

# Atoms that exist in the node (the suite creates the non-ASCII ones first).
_ATOMS = ["ok", "error", "héllo", "日本語", "bytes", "nan", "true", "none", "nil", "undefined"]


def expected(value):
    """What a value becomes after Python -> Erlang -> Python."""
    if isinstance(value, Atom):
        if value in ("true", "false"):
            return value == "true"
        if value in ("none", "nil", "undefined"):
            return None
        return value
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(value)
    if isinstance(value, (set, frozenset)):
        return sorted(expected(v) for v in value)
    if isinstance(value, list):
        return [expected(v) for v in value]
    if isinstance(value, tuple):
        if len(value) == 2 and type(value[0]) is Atom and value[0] == "bytes":
            # (Atom('bytes'), text or bytes) is {bytes, Binary} in Erlang,
            # which Python receives as bytes (the README's one lossy row).
            second = value[1]
            if isinstance(second, (bytes, bytearray)):
                return bytes(second)
            if isinstance(second, str) and not isinstance(second, Atom):
                return second.encode("utf-8")
        return tuple(expected(v) for v in value)
    if isinstance(value, dict):
        return {expected(k): expected(v) for k, v in value.items()}
    return value


def same(a, b):
    """Strict equality: equal values of the same types at every level
    (so 1 is not 1.0 nor True, a str is not an Atom, a tuple not a list)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        if len(a) != len(b):
            return False
        keys_b = {k: k for k in b}
        for k, v in a.items():
            if k not in keys_b or not same(k, keys_b[k]) or not same(v, b[k]):
                return False
        return True
    return a == b


def run_hypothesis(max_examples):
    """Runs the property; returns {examples, failure} (failure none or text)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    atoms = st.sampled_from(_ATOMS).map(Atom)
    floats = st.floats(allow_nan=False, allow_infinity=False)
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**300), max_value=2**300),
        floats,
        st.text(),
        st.binary(),
        st.binary().map(bytearray),
        atoms,
        st.sets(st.integers()),
        st.frozensets(st.text(max_size=3)),
    )
    # Keys Python can hash and Erlang keeps apart: no bytes (b'a' and 'a'
    # are both <<"a">> in Erlang), no Atom('true') beside True, no
    # Atom('nil') beside None (each pair is one Erlang key).
    key_atoms = st.sampled_from(_ATOMS[:6]).map(Atom)
    keys = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        floats,
        st.text(),
        key_atoms,
        st.tuples(st.integers(), st.text()),
    )
    values = st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=5),
            st.lists(inner, max_size=5).map(tuple),
            st.dictionaries(keys, inner, max_size=5),
        ),
        max_leaves=25,
    )
    count = [0]

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(values)
    def round_trip(value):
        count[0] += 1
        back = erlang.call("identity", value)
        want = expected(value)
        assert same(want, back), "%r came back as %r" % (value, back)

    try:
        round_trip()
    except Exception as e:  # the shrunk counterexample
        return {"examples": count[0], "failure": "%s: %s" % (type(e).__name__, e)}
    return {"examples": count[0], "failure": None}
