"""Tests of the pure-Python value types of the `erlang` package."""

import erlang


def test_atom_is_a_str_that_compares_equal():
    a = erlang.Atom("ok")
    assert a == "ok"
    assert isinstance(a, str)
    assert repr(a) == "Atom('ok')"
