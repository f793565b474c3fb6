"""Tests of the pure-Python value types of the `erlang` package."""

import pickle

import pytest

import erlang


def test_atom_is_a_str_that_compares_equal():
    a = erlang.Atom("ok")
    assert a == "ok"
    assert isinstance(a, str)
    assert hash(a) == hash("ok")
    assert repr(a) == "Atom('ok')"


def test_pids_compare_and_hash_by_their_bytes():
    a = erlang.Pid(b"X\x01")
    b = erlang.Pid(b"X\x01")
    c = erlang.Pid(b"X\x02")
    assert a == b and a != c
    assert len({a, b, c}) == 2
    assert sorted([c, a])[0] == a


def test_pid_and_ref_with_the_same_bytes_differ():
    assert erlang.Pid(b"x") != erlang.Ref(b"x")
    assert hash(erlang.Pid(b"x")) != hash(erlang.Ref(b"x"))


def test_opaque_terms_are_immutable():
    p = erlang.Pid(b"X")
    with pytest.raises(AttributeError):
        p.etf = b"Y"


def test_opaque_terms_need_bytes():
    with pytest.raises(TypeError):
        erlang.Ref("not bytes")


def test_opaque_term_keeps_its_kind():
    f = erlang.OpaqueTerm("fun", b"p...")
    assert f.kind == "fun"
    assert f == erlang.OpaqueTerm("fun", b"p...")


def test_improper_list_compares_items_and_tail():
    assert erlang.ImproperList([1, 2], 3) == erlang.ImproperList((1, 2), 3)
    assert erlang.ImproperList([1], 2) != erlang.ImproperList([1], 3)


def test_erlang_error_is_a_runtime_error_with_details():
    e = erlang.ErlangError("error: badarith", "error", "badarith", "m:f/1")
    assert isinstance(e, RuntimeError)
    assert str(e) == "error: badarith"
    assert (e.erlang_class, e.reason, e.stacktrace) == ("error", "badarith", "m:f/1")


def test_attribute_access_gives_a_callable_for_registered_names():
    # The node sends the registered names (test_registered_names.py has the rest).
    erlang._set_functions(erlang._registered_version + 1, ["double_it", "add_one"])
    f = erlang.double_it
    assert callable(f)
    assert "double_it" in repr(f)


def test_from_import_of_a_registered_name_works():
    erlang._set_functions(erlang._registered_version + 1, ["double_it", "add_one"])
    from erlang import add_one

    assert add_one.name == "add_one"


def test_dunder_lookups_are_not_taken_for_erlang_functions():
    assert not hasattr(erlang, "__wrapped__")


def test_call_outside_the_port_is_a_clear_error():
    with pytest.raises(RuntimeError, match="only available inside"):
        erlang.call("double_it", 1)


def test_names_defined_by_the_package_are_not_shadowed():
    assert erlang.call is not None
    assert erlang.Atom is erlang._types.Atom
