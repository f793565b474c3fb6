"""Process-bound namespaces (erlang._namespaces): made on first use, found by '__main__' lookups, dropped."""
import erlang
from erlang import _namespaces as ns


def test_a_namespace_is_made_on_first_use_with_erlang_bound():
    space = ns.get(101)
    try:
        assert space["__name__"] == "__main__"
        assert space["erlang"] is erlang
        assert ns.get(101) is space
        assert ns.count() >= 1
    finally:
        ns.drop(101)


def test_two_ids_are_two_namespaces():
    exec("x = 1", ns.get(102))
    exec("x = 2", ns.get(103))
    try:
        assert eval("x", ns.get(102)) == 1
        assert eval("x", ns.get(103)) == 2
    finally:
        ns.drop(102)
        ns.drop(103)


def test_main_lookups_look_in_the_namespace_only_for_main():
    exec("def f():\n    return 'mine'\n", ns.get(104))
    try:
        assert ns.lookup(104, "__main__", "f")() == "mine"
        assert ns.lookup(104, "os", "f") is None
        assert ns.lookup(104, "__main__", "g") is None
        assert ns.lookup(999, "__main__", "f") is None
    finally:
        ns.drop(104)


def test_drop_forgets_and_clears_and_an_unknown_id_is_no_error():
    space = ns.get(105)
    exec("def f():\n    return 1\n", space)
    before = ns.count()
    ns.drop(105)
    assert ns.count() == before - 1
    assert space == {}
    ns.drop(105)
    assert "y" not in ns.get(105)
    ns.drop(105)
