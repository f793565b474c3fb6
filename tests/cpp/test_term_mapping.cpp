// Catch2 tests of the type table's edges: every ETF tag, {bytes, B}, map keys, and Python types.
#include "codec_test_support.hpp"
#include "python/python_types.hpp"
#include "terms/term_codec.hpp"

#include <catch2/catch.hpp>
#include <ei.h>
#include <pybind11/eval.h>
#include <set>
#include <string>
#include <vector>

using namespace erlang_python;
using namespace etf_test;
using Catch::Matchers::Contains;

namespace {

// Runs Python statements (with `erlang` imported) and returns the name `result`.
py::object run(const char *code) {
    py::dict scope;
    scope["erlang"] = py::module_::import("erlang");
    py::exec(code, scope);
    return scope["result"];
}

py::object eval(const std::string &expr) {
    py::dict scope;
    scope["erlang"] = py::module_::import("erlang");
    return py::eval(expr, scope);
}

void clear_encoders() {
    run("import erlang._types\nfor c in list(erlang._types._encoders):\n"
        "    erlang.unregister_encoder(c)\nresult = None\n");
}

std::string type_name(py::handle obj) {
    return Py_TYPE(obj.ptr())->tp_name;
}

// The Python exception class name and message a call raises, or "".
template <class F>
std::string python_error(F f) {
    try {
        f();
    } catch (py::error_already_set &e) {
        return std::string(py::str(e.type().attr("__name__"))) + ": "
               + std::string(py::str(e.value()));
    } catch (const py::builtin_exception &e) {
        return e.what();
    }
    return "";
}

std::string atom(const std::string &name) {
    return bytes({119, int(name.size())}) + name;
}
std::string binary(const std::string &data) {
    return bytes({109}) + u32(std::uint32_t(data.size())) + data;
}

} // namespace

// ---- every ETF tag ----------------------------------------------------------

TEST_CASE("term codec decodes every ETF tag it accepts to its Python type", "[mapping]") {
    struct sample {
        char tag;
        std::string body; // after the version byte, tag included
        const char *type;
    };
    std::vector<sample> samples = {
        {'a', bytes({97, 7}), "int"},
        {'b', bytes({98, 255, 255, 255, 250}), "int"},
        {'c',
         bytes({99}) + std::string("1.50000000000000000000e+00") + std::string(5, '\0'),
         "float"},
        {'F', bytes({70, 63, 248, 0, 0, 0, 0, 0, 0}), "float"},
        {'d', bytes({100, 0, 2}) + "ok", "Atom"},
        {'v', bytes({118, 0, 2}) + "ok", "Atom"},
        {'s', bytes({115, 2}) + "ok", "Atom"},
        {'w', bytes({119, 2}) + "ok", "Atom"},
        {'h', bytes({104, 1, 97, 1}), "tuple"},
        {'i', bytes({105, 0, 0, 0, 1, 97, 1}), "tuple"},
        {'j', bytes({106}), "list"},
        {'k', bytes({107, 0, 2, 1, 2}), "list"},
        {'l', bytes({108, 0, 0, 0, 1, 97, 1, 106}), "list"},
        {'m', binary("hi"), "str"},
        {'M', bytes({77, 0, 0, 0, 1, 3, 224}), "OpaqueTerm"},
        {'n', bytes({110, 1, 0, 5}), "int"},
        {'o', bytes({111, 0, 0, 0, 1, 1, 5}), "int"},
        {'t', bytes({116, 0, 0, 0, 1, 97, 1, 97, 2}), "dict"},
        {'g', bytes({103}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 0, 0}), "Pid"},
        {'X', bytes({88}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}), "Pid"},
        {'f', bytes({102}) + node + bytes({0, 0, 0, 1, 0}), "OpaqueTerm"},
        {'Y', bytes({89}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 0}), "OpaqueTerm"},
        {'x', bytes({120}) + node + bytes({0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0}), "OpaqueTerm"},
        {'e', bytes({101}) + node + bytes({0, 0, 0, 1, 0}), "Ref"},
        {'r', bytes({114, 0, 1}) + node + bytes({0, 0, 0, 0, 1}), "Ref"},
        {'Z', bytes({90, 0, 1}) + node + bytes({0, 0, 0, 0, 0, 0, 0, 1}), "Ref"},
        {'q',
         bytes({113, 100, 0, 5}) + "lists" + bytes({100, 0, 7}) + "reverse" + bytes({97, 1}),
         "OpaqueTerm"},
    };
    std::set<int> accepted;
    for (const sample &s : samples) {
        INFO("tag " << s.tag);
        std::string etf = bytes({131}) + s.body;
        py::object value = decode(etf);
        CHECK(type_name(value) == std::string(s.type));
        accepted.insert(static_cast<unsigned char>(s.tag));
        // Each comes back as an equal term: same bytes, except where Erlang's
        // own encoding differs (old floats, latin-1 atoms, STRING_EXT, ...).
        CHECK(decode(encode(value)).equal(value));
    }
    accepted.insert('p'); // NEW_FUN_EXT: tested with a real fun in test_term_codec.cpp
    for (int tag = 0; tag < 256; ++tag) {
        if (accepted.count(tag) != 0) {
            continue;
        }
        INFO("tag " << tag);
        std::string etf = bytes({131, tag}) + std::string(40, '\0');
        CHECK_THROWS_AS(decode(etf), term_error);
        CHECK_THROWS_WITH(decode(etf), Contains("unsupported ETF tag " + std::to_string(tag)));
    }
}

TEST_CASE("term codec rejects compressed and atom-cache terms by name", "[mapping]") {
    // term_to_binary(lists:seq(1, 100), [compressed]) starts with tag 80; the
    // port is never sent one, and decompressing would be an unbounded allocation.
    CHECK_THROWS_WITH(decode(bytes({131, 80, 0, 0, 0, 100, 120, 156})), Contains("tag 80"));
    CHECK_THROWS_WITH(decode(bytes({131, 82, 0})), Contains("tag 82")); // ATOM_CACHE_REF
}

// ---- {bytes, B} ---------------------------------------------------------------

TEST_CASE("term codec decodes {bytes, Binary} as bytes", "[mapping]") {
    std::string forced = bytes({131, 104, 2}) + atom("bytes") + binary("abc");
    py::object value = decode(forced);
    REQUIRE(type_name(value) == std::string("bytes"));
    CHECK(value.equal(py::bytes("abc")));
    CHECK(encode(value) == bytes({131}) + binary("abc"));
    // Any atom tag spells `bytes`.
    CHECK(type_name(decode(bytes({131, 104, 2, 100, 0, 5}) + "bytes" + binary(""))) == "bytes");
    CHECK(type_name(decode(bytes({131, 104, 2, 115, 5}) + "bytes" + binary("x"))) == "bytes");
    // Not a binary second, a third element, or another atom: a plain tuple.
    CHECK(type_name(decode(bytes({131, 104, 2}) + atom("bytes") + bytes({97, 1}))) == "tuple");
    CHECK(type_name(decode(bytes({131, 104, 3}) + atom("bytes") + binary("a") + bytes({106})))
          == "tuple");
    CHECK(type_name(decode(bytes({131, 104, 2}) + atom("bytez") + binary("a"))) == "tuple");
    CHECK(type_name(decode(bytes({131, 104, 2}) + atom("byte") + binary("a"))) == "tuple");
    // Nested: each level is one trip.
    std::string nested = bytes({131, 104, 2}) + atom("bytes") + forced.substr(1);
    CHECK(decode(nested).equal(
        py::make_tuple(py::module_::import("erlang").attr("Atom")("bytes"), py::bytes("abc"))));
}

// ---- map keys -------------------------------------------------------------------

TEST_CASE("term codec freezes list, map and improper-list keys and sends them back", "[mapping]") {
    std::string list_key = bytes({108, 0, 0, 0, 2, 97, 1, 97, 2, 106});
    std::string map_key
        = bytes({116, 0, 0, 0, 1}) + atom("k") + bytes({108, 0, 0, 0, 1, 97, 1, 106});
    std::string tuple_key = bytes({104, 2, 97, 1}) + list_key;
    std::string improper_key = bytes({108, 0, 0, 0, 1}) + list_key + atom("t");
    struct sample {
        std::string key;
        const char *type;
    };
    for (const sample &s : {sample{list_key, "FrozenList"},
                            sample{map_key, "FrozenDict"},
                            sample{tuple_key, "tuple"},
                            sample{improper_key, "ImproperList"}}) {
        INFO(s.type);
        std::string etf = bytes({131, 116, 0, 0, 0, 1}) + s.key + bytes({97, 9});
        py::dict d = decode(etf);
        REQUIRE(d.size() == 1);
        CHECK(type_name(d.begin()->first) == std::string(s.type));
        CHECK(py::hash(d.begin()->first) == py::hash(d.begin()->first));
        CHECK(encode(d) == etf);
    }
    // [1] and {1} stay two keys.
    std::string two
        = bytes({131, 116, 0, 0, 0, 2, 108, 0, 0, 0, 1, 97, 1, 106, 97, 1, 104, 1, 97, 1, 97, 2});
    CHECK(py::dict(decode(two)).size() == 2);
    // A frozen key is usable: indexing, length, equality with its own kind only.
    py::object frozen = run("result = erlang.FrozenList([1, 2])");
    CHECK(py::len(frozen) == 2);
    CHECK_FALSE(frozen.equal(py::make_tuple(1, 2)));
    CHECK_FALSE(frozen.equal(eval("[1, 2]")));
    CHECK(frozen.equal(run("result = erlang.FrozenList((1, 2))")));
}

TEST_CASE("term codec refuses a map whose keys are equal in Python", "[mapping]") {
    struct sample {
        std::string k1, k2;
    };
    for (const sample &s : {sample{bytes({97, 1}), bytes({70, 63, 240, 0, 0, 0, 0, 0, 0})},
                            sample{atom("true"), bytes({97, 1})},
                            sample{atom("ok"), binary("ok")},
                            sample{atom("none"), atom("nil")}}) {
        std::string etf = bytes({131, 116, 0, 0, 0, 2}) + s.k1 + atom("a") + s.k2 + atom("b");
        CHECK_THROWS_AS(decode(etf), py::value_error);
        CHECK_THROWS_WITH(decode(etf), Contains("equal in Python"));
    }
}

// ---- Python -> Erlang ---------------------------------------------------------

TEST_CASE("term codec sends bool as an atom before looking at int", "[mapping]") {
    CHECK(encode(py::bool_(true)) == bytes({131, 119, 4}) + "true");
    CHECK(encode(py::bool_(false)) == bytes({131, 119, 5}) + "false");
    CHECK(encode(py::int_(1)) == bytes({131, 97, 1}));
}

TEST_CASE("term codec sends subclasses of int, float, str and containers by value", "[mapping]") {
    py::object values = run(R"(
import collections, enum
class Colour(enum.IntEnum):
    GREEN = 2
class Name(str): pass
class Ratio(float): pass
class Blob(bytes): pass
Point = collections.namedtuple('Point', 'x y')
class Stack(list): pass
result = [Colour.GREEN, Name('abc'), Ratio(0.5), Blob(b'\xff'), Point(1, 2), Stack([1]),
          collections.OrderedDict(a=1), True]
)");
    py::object expected = eval("[2, 'abc', 0.5, b'\\xff', (1, 2), [1], {'a': 1}, True]");
    CHECK(encode(values) == encode(expected));
    // An Atom is a str subclass that stays an atom.
    CHECK(encode(eval("erlang.Atom('ok')")) == bytes({131, 119, 2}) + "ok");
}

TEST_CASE("term codec sends sets as sorted lists and views and ranges as lists", "[mapping]") {
    CHECK(encode(eval("{3, 1, 2}")) == encode(eval("[1, 2, 3]")));
    CHECK(encode(eval("frozenset(['b', 'a'])")) == encode(eval("['a', 'b']")));
    CHECK(encode(eval("set()")) == bytes({131, 106}));
    // Items that cannot be ordered: a list in iteration order.
    py::object mixed = decode(encode(eval("{1, 'a'}")));
    CHECK(py::len(mixed) == 2);
    CHECK(encode(eval("{'k': 1}.keys()")) == encode(eval("['k']")));
    CHECK(encode(eval("{'k': 1}.values()")) == encode(eval("[1]")));
    CHECK(encode(eval("{'k': 1}.items()")) == encode(eval("[('k', 1)]")));
    CHECK(encode(eval("range(3)")) == encode(eval("[0, 1, 2]")));
}

TEST_CASE("term codec refuses generators and iterators without consuming them", "[mapping]") {
    py::object gen = eval("(i for i in range(3))");
    CHECK_THROWS_AS(encode(gen), py::type_error);
    CHECK_THROWS_WITH(encode(gen), Contains("'generator'") && Contains("list("));
    CHECK(py::len(py::list(gen)) == 3); // untouched
    CHECK_THROWS_WITH(encode(eval("iter([1])")), Contains("'list_iterator'"));
}

TEST_CASE("term codec uses a registered encoder, for subclasses too", "[mapping]") {
    py::object values = run(R"(
class Point:
    def __init__(self, x, y): self.x, self.y = x, y
class Point3(Point): pass
erlang.register_encoder(Point, lambda p: (erlang.Atom('point'), p.x, p.y))
result = [Point(1, 2), Point3(3, 4)]
)");
    CHECK(encode(values)
          == encode(eval("[(erlang.Atom('point'), 1, 2), (erlang.Atom('point'), 3, 4)]")));
    clear_encoders();
    CHECK_THROWS_WITH(encode(values), Contains("'Point'") && Contains("register_encoder"));
}

TEST_CASE("term codec uses __erlang__ and prefers a registered encoder", "[mapping]") {
    py::object values = run(R"(
import enum
class Temp:
    def __erlang__(self): return ('kelvin', 300)
class Level(enum.IntEnum):
    LOW = 1
    def __erlang__(self): return erlang.Atom(self.name.lower())
class Both:
    def __erlang__(self): return 'method'
erlang.register_encoder(Both, lambda b: 'registered')
result = [Temp(), Level.LOW, Both()]
)");
    CHECK(encode(values) == encode(eval("[('kelvin', 300), erlang.Atom('low'), 'registered']")));
    clear_encoders();
}

TEST_CASE("term codec reports a hook that fails or never ends", "[mapping]") {
    py::object failing = run(R"(
class Bad:
    def __erlang__(self): raise KeyError('inside the hook')
result = Bad()
)");
    CHECK(python_error([&] { encode(failing); }) == "KeyError: 'inside the hook'");
    py::object loop = run(R"(
class Loop:
    def __erlang__(self): return self
result = Loop()
)");
    CHECK_THROWS_AS(encode(loop, 50), py::value_error);
}

TEST_CASE("register_encoder refuses the types converted directly", "[mapping]") {
    for (const char *cls : {"int", "str", "list", "dict", "bool", "type(None)"}) {
        INFO(cls);
        std::string code = std::string("erlang.register_encoder(") + cls + ", repr)";
        CHECK(python_error([&] {
                  py::dict scope;
                  scope["erlang"] = py::module_::import("erlang");
                  py::exec(code, scope);
              }).rfind("ValueError", 0)
              == 0);
    }
}

TEST_CASE("term codec converts numpy scalars and arrays", "[mapping]") {
    py::object values = run(R"(
import numpy as np
result = [np.int64(7), np.float32(0.5), np.float64(2.5), np.bool_(True), np.arange(3),
          np.array([[1.5, 2.5], [3.5, 4.5]]), np.array(9), np.str_('s'), np.uint8(255),
          np.array([np.nan])]
)");
    py::object expected = eval("[7, 0.5, 2.5, True, [0, 1, 2], [[1.5, 2.5], [3.5, 4.5]], 9, 's', "
                               "255, [float('nan')]]");
    CHECK(encode(values) == encode(expected));
    CHECK_THROWS_WITH(encode(eval("__import__('numpy').complex128(1j)")), Contains("'complex'"));
}

TEST_CASE("term codec checks the bytes of Pid, Ref and OpaqueTerm built in Python", "[mapping]") {
    CHECK_THROWS_WITH(encode(eval("erlang.Pid(b'')")), Contains("erlang.Pid"));
    CHECK_THROWS_WITH(encode(eval("erlang.Pid(b'\\x61\\x01')")), Contains("erlang.Pid"));
    CHECK_THROWS_WITH(encode(eval("erlang.Ref(b'X')")), Contains("erlang.Ref"));
    CHECK_THROWS_WITH(encode(eval("erlang.OpaqueTerm('fun', b'q')")),
                      Contains("erlang.OpaqueTerm"));
    std::string pid = bytes({88}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0});
    py::object ok = types().pid(py::bytes(pid));
    CHECK(encode(ok) == bytes({131}) + pid);
}

TEST_CASE("term codec sends FrozenList, FrozenDict and ImproperList keys", "[mapping]") {
    CHECK(encode(eval("{erlang.FrozenList([1]): erlang.FrozenDict({'a': 1})}"))
          == encode(eval("{0: 0}")).substr(0, 6) + bytes({108, 0, 0, 0, 1, 97, 1, 106})
                 + encode(eval("{'a': 1}")).substr(1));
    py::object improper = eval("erlang.ImproperList([1], erlang.Atom('t'))");
    CHECK(py::hash(improper) == py::hash(eval("erlang.ImproperList([1], erlang.Atom('t'))")));
    CHECK(encode(eval("{erlang.ImproperList([1], erlang.Atom('t')): 1}")).size() > 0);
}
