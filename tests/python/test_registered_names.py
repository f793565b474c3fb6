"""The attribute form of the erlang package answers from the registered names the node sends."""
import pytest

import erlang


def newer():
    """A change number after every one seen so far, as the node makes them."""
    return erlang._registered_version + 1


def tell(names):
    erlang._set_functions(newer(), names)


@pytest.fixture(autouse=True)
def no_names():
    tell([])
    yield
    tell([])


def test_an_unregistered_name_is_an_attribute_error_naming_it():
    assert not hasattr(erlang, "async_cal")
    with pytest.raises(AttributeError, match="async_cal"):
        erlang.async_cal
    with pytest.raises(ImportError, match="async_cal"):
        from erlang import async_cal  # noqa: F401


def test_a_registered_name_is_an_attribute_and_in_dir():
    tell(["double_it"])
    assert hasattr(erlang, "double_it")
    assert "double_it" in dir(erlang)
    assert repr(erlang.double_it) == "<Erlang function 'double_it'>"
    from erlang import double_it  # noqa: F401


def test_an_older_set_never_replaces_a_newer_one():
    older = newer()
    erlang._set_functions(older + 1, ["newer"])
    erlang._set_functions(older, ["older"])
    assert hasattr(erlang, "newer") and not hasattr(erlang, "older")


def test_the_package_own_names_are_never_shadowed():
    tell(["call", "send"])
    assert not isinstance(erlang.call, erlang._Function)
    assert not isinstance(erlang.send, erlang._Function)
