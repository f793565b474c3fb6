"""Tests of the pure-Python parts of the type mapping: encoders, frozen keys, new_atom."""

import enum

import pytest

import erlang
from erlang import _types


@pytest.fixture(autouse=True)
def no_encoders():
    saved = dict(_types._encoders)
    _types._encoders.clear()
    yield
    _types._encoders.clear()
    _types._encoders.update(saved)


def test_register_encoder_stores_the_function_by_class():
    class Point:
        pass

    def encode(p):
        return (1, 2)

    erlang.register_encoder(Point, encode)
    assert _types._encoders[Point] is encode
    erlang.unregister_encoder(Point)
    assert Point not in _types._encoders


def test_unregister_encoder_of_an_unknown_class_is_fine():
    erlang.unregister_encoder(type("Never", (), {}))


def test_register_encoder_accepts_a_subclass_of_a_builtin():
    class Colour(enum.IntEnum):
        RED = 1

    erlang.register_encoder(Colour, lambda c: c.name)
    assert Colour in _types._encoders


@pytest.mark.parametrize("cls", [int, str, bytes, list, tuple, dict, float, bool, type(None)])
def test_register_encoder_refuses_types_converted_directly(cls):
    with pytest.raises(ValueError, match="converted directly"):
        erlang.register_encoder(cls, repr)


def test_register_encoder_checks_its_arguments():
    with pytest.raises(TypeError, match="expected a class"):
        erlang.register_encoder("Point", repr)
    with pytest.raises(TypeError, match="callable"):
        erlang.register_encoder(type("P", (), {}), 42)


def test_frozen_list_is_a_hashable_sequence_equal_only_to_its_kind():
    f = erlang.FrozenList([1, 2])
    assert list(f) == [1, 2] and len(f) == 2 and f[0] == 1 and 2 in f
    assert f == erlang.FrozenList((1, 2))
    assert hash(f) == hash(erlang.FrozenList([1, 2]))
    assert f != (1, 2) and f != [1, 2]
    assert len({f: 1, (1, 2): 2}) == 2
    with pytest.raises(AttributeError):
        f.items = ()
    assert repr(f) == "FrozenList([1, 2])"


def test_frozen_dict_is_a_hashable_mapping_equal_only_to_its_kind():
    d = erlang.FrozenDict({"a": 1})
    assert d["a"] == 1 and dict(d) == {"a": 1} and len(d) == 1
    assert d == erlang.FrozenDict([("a", 1)])
    assert hash(d) == hash(erlang.FrozenDict({"a": 1}))
    assert d != {"a": 1}
    with pytest.raises(AttributeError):
        d.x = 1


def test_freeze_makes_nested_keys_hashable():
    key = [1, {"k": [2]}, (3, [4]), erlang.ImproperList([[5]], [6])]
    frozen = _types._freeze(key)
    hash(frozen)
    assert frozen == erlang.FrozenList(
        [
            1,
            erlang.FrozenDict({"k": erlang.FrozenList([2])}),
            (3, erlang.FrozenList([4])),
            erlang.ImproperList([erlang.FrozenList([5])], erlang.FrozenList([6])),
        ]
    )
    assert _types._freeze("text") == "text"


def test_improper_list_is_hashable_when_its_parts_are():
    a = erlang.ImproperList([1, 2], erlang.Atom("t"))
    assert hash(a) == hash(erlang.ImproperList((1, 2), "t"))
    with pytest.raises(TypeError):
        hash(erlang.ImproperList([[1]], 2))


def test_new_atom_validates_before_it_needs_the_port():
    with pytest.raises(TypeError, match="must be a str"):
        erlang.new_atom(b"bytes")
    with pytest.raises(ValueError, match="255"):
        erlang.new_atom("x" * 256)
    with pytest.raises(RuntimeError, match="only available inside"):
        erlang.new_atom("fine")


def test_the_package_exports_the_mapping_helpers():
    for name in ["new_atom", "register_encoder", "unregister_encoder", "FrozenList", "FrozenDict"]:
        assert name in erlang.__all__
        assert getattr(erlang, name) is not None
