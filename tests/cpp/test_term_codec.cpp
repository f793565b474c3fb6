// Catch2 tests of the ETF <-> Python term codec; main.cpp owns the interpreter and erlang._types.
#include "codec_test_support.hpp"
#include "python/python_types.hpp"
#include "terms/term_codec.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <ei.h>
#include <initializer_list>
#include <pybind11/eval.h>
#include <stdexcept>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

using namespace erlang_python;
using namespace etf_test;
using Catch::Matchers::Contains;

namespace {

// The ETF ei writes for an atom: the reference for what encode_term must produce.
std::string utf8_atom(const std::string &name) {
    etf_writer t;
    REQUIRE(
        ei_x_encode_atom_len_as(t.get(), name.data(), int(name.size()), ERLANG_UTF8, ERLANG_UTF8)
        == 0);
    return t.str();
}

bool same_type(py::handle obj, py::handle cls) {
    return reinterpret_cast<PyObject *>(Py_TYPE(obj.ptr())) == cls.ptr();
}

std::string type_name(py::handle obj) {
    return Py_TYPE(obj.ptr())->tp_name;
}

// The Python exception class name a call raises as py::error_already_set, or "".
template <class F>
std::string python_error(F f) {
    try {
        f();
    } catch (py::error_already_set &e) {
        return py::str(e.type().attr("__name__"));
    }
    return "";
}

// 'héllo' as OTP 25 writes it: latin-1 ATOM_EXT.
const std::string erl_latin1_atom = bytes({131, 100, 0, 5, 104, 233, 108, 108, 111});

} // namespace

// ---- integers --------------------------------------------------------------

TEST_CASE("term codec round-trips small and negative integers", "[term]") {
    for (long long v : {0ll,
                        1ll,
                        42ll,
                        255ll,
                        256ll,
                        -1ll,
                        -256ll,
                        2147483647ll,
                        -2147483648ll,
                        2147483648ll,
                        -2147483649ll,
                        1ll << 40,
                        -(1ll << 62),
                        9223372036854775807ll,
                        -9223372036854775807ll - 1}) {
        INFO("value " << v);
        py::int_ value(v);
        std::string etf = encode(value);
        py::object back = decode(etf);
        CHECK(same_type(back, reinterpret_cast<PyObject *>(&PyLong_Type)));
        CHECK(back.cast<long long>() == v);

        // ei's own encoding decodes to the same value.
        etf_writer t;
        REQUIRE(ei_x_encode_longlong(t.get(), v) == 0);
        CHECK(decode(t.str()).cast<long long>() == v);
    }
    CHECK(decode(bytes({131, 97, 255})).cast<int>() == 255);
    CHECK(decode(bytes({131, 98, 255, 255, 255, 255})).cast<int>() == -1);
    CHECK(decode(bytes({131, 98, 128, 0, 0, 0})).cast<long long>() == -2147483648ll);
}

TEST_CASE("term codec round-trips bignums", "[term]") {
    for (const char *expr : {"2**100",
                             "-(2**70)",
                             "2**64",
                             "-(2**64)",
                             "2**63",
                             "-(2**63) - 1",
                             "2**2040 - 1",
                             "2**2048",
                             "-(3**5000)"}) {
        INFO(expr);
        py::object value = eval_with_types(expr);
        std::string etf = encode(value);
        py::object back = decode(etf);
        CHECK(same_type(back, reinterpret_cast<PyObject *>(&PyLong_Type)));
        CHECK(equal(back, value));
    }
    // 1 bsl 100 exactly as Erlang writes it, both ways.
    std::string erl_2_100 = bytes({131, 110, 13, 0}) + std::string(12, '\0') + bytes({16});
    CHECK(equal(decode(erl_2_100), eval_with_types("2**100")));
    CHECK(encode(eval_with_types("2**100")) == erl_2_100);
    // -(1 bsl 70): sign byte 1, then the magnitude little-endian.
    std::string erl_minus_2_70 = bytes({131, 110, 9, 1}) + std::string(8, '\0') + bytes({64});
    CHECK(equal(decode(erl_minus_2_70), eval_with_types("-(2**70)")));
    CHECK(encode(eval_with_types("-(2**70)")) == erl_minus_2_70);
    // Over 255 digit bytes: LARGE_BIG_EXT.
    std::string large = encode(eval_with_types("2**2048"));
    CHECK(large[1] == char(ERL_LARGE_BIG_EXT));
    CHECK(encode(eval_with_types("2**2040 - 1"))[1] == char(ERL_SMALL_BIG_EXT));
    // A bignum with no digits, or a zero magnitude, is still zero.
    CHECK(decode(bytes({131, 110, 0, 0})).cast<int>() == 0);
    CHECK(decode(bytes({131, 110, 2, 1, 0, 0})).cast<int>() == 0);
}

// ---- floats ----------------------------------------------------------------

TEST_CASE("term codec round-trips floats", "[term]") {
    for (double d : {0.0, 2.5, -1.0e-300, 1.0e300, 3.141592653589793, -0.0}) {
        INFO("value " << d);
        py::object back = decode(encode(py::float_(d)));
        REQUIRE(py::isinstance<py::float_>(back));
        double got = back.cast<double>();
        CHECK(got == d);
        CHECK(std::signbit(got) == std::signbit(d));
    }
    std::string float_ext = bytes({131, 99}) + "2.50000000000000000000e+00";
    float_ext += std::string(33 - float_ext.size(), '\0');
    CHECK(decode(float_ext).cast<double>() == 2.5);
}

TEST_CASE("term codec reads a FLOAT_EXT that fills all 31 bytes", "[term]") {
    // No NUL in the text: the float must be read from its 31 bytes only.
    std::string digits(31, '1');
    py::object value = decode(bytes({131, 99}) + digits);
    CHECK(value.cast<double>() == std::stod(digits));
    // Inside a list, followed by more terms.
    py::object list = decode(bytes({131, 108, 0, 0, 0, 2, 99}) + digits + bytes({97, 7, 106}));
    CHECK(py::len(list) == 2);
}

TEST_CASE("term codec rejects a FLOAT_EXT that is not a number", "[term]") {
    std::string garbage = bytes({131, 99}) + std::string(31, 'x');
    CHECK_THROWS_AS(decode(garbage), term_error);
}

TEST_CASE("term codec sends nan and infinities as atoms", "[term]") {
    CHECK(encode(eval_with_types("float('nan')")) == utf8_atom("nan"));
    CHECK(encode(eval_with_types("float('inf')")) == utf8_atom("infinity"));
    CHECK(encode(eval_with_types("float('-inf')")) == utf8_atom("neg_infinity"));
    py::object back = decode(encode(eval_with_types("float('inf')")));
    CHECK(same_type(back, types().atom));
    CHECK(equal(back, py::str("infinity")));
}

// ---- binaries and strings --------------------------------------------------

TEST_CASE("term codec decodes UTF-8 binaries as str and others as bytes", "[term]") {
    py::object ascii = decode(bytes({131, 109, 0, 0, 0, 5}) + "hello");
    CHECK(same_type(ascii, reinterpret_cast<PyObject *>(&PyUnicode_Type)));
    CHECK(equal(ascii, py::str("hello")));

    py::object accented = decode(bytes({131, 109, 0, 0, 0, 10}) + "h\xc3\xa9llo \xe2\x82\xac");
    CHECK(equal(accented, eval_with_types("'h\\u00e9llo \\u20ac'")));

    py::object empty = decode(bytes({131, 109, 0, 0, 0, 0}));
    CHECK(equal(empty, py::str("")));

    py::object raw = decode(bytes({131, 109, 0, 0, 0, 3, 0xff, 0xfe, 0}));
    CHECK(same_type(raw, reinterpret_cast<PyObject *>(&PyBytes_Type)));
    CHECK(equal(raw, py::bytes("\xff\xfe\0", 3)));

    // A truncated UTF-8 sequence is not text either.
    CHECK(py::isinstance<py::bytes>(decode(bytes({131, 109, 0, 0, 0, 2, 0xc3, 0x28}))));
}

TEST_CASE("term codec sends str, bytes, bytearray and memoryview as binaries", "[term]") {
    CHECK(encode(eval_with_types("'h\\u00e9llo'"))
          == bytes({131, 109, 0, 0, 0, 6}) + "h\xc3\xa9llo");
    CHECK(encode(eval_with_types("''")) == bytes({131, 109, 0, 0, 0, 0}));
    std::string raw = bytes({131, 109, 0, 0, 0, 3, 0xff, 0, 1});
    CHECK(encode(eval_with_types("b'\\xff\\x00\\x01'")) == raw);
    CHECK(encode(eval_with_types("bytearray(b'\\xff\\x00\\x01')")) == raw);
    CHECK(encode(eval_with_types("memoryview(b'\\xff\\x00\\x01')")) == raw);
    py::object round = decode(encode(eval_with_types("'caf\\u00e9 \\U0001f600'")));
    CHECK(equal(round, eval_with_types("'caf\\u00e9 \\U0001f600'")));
    py::object bytes_back = decode(encode(eval_with_types("b'\\x80abc'")));
    CHECK(equal(bytes_back, eval_with_types("b'\\x80abc'")));
}

TEST_CASE("term codec reports a str that cannot be UTF-8", "[term]") {
    py::object surrogate = eval_with_types("'\\ud800'");
    CHECK(python_error([&] { encode(surrogate); }) == "UnicodeEncodeError");
}

// ---- atoms -----------------------------------------------------------------

TEST_CASE("term codec maps true and false to bool", "[term]") {
    py::object t = decode(bytes({131, 100, 0, 4}) + "true");
    py::object f = decode(bytes({131, 119, 5}) + "false");
    CHECK(t.ptr() == Py_True);
    CHECK(f.ptr() == Py_False);
    CHECK(encode(py::bool_(true)) == utf8_atom("true"));
    CHECK(encode(py::bool_(false)) == utf8_atom("false"));
}

TEST_CASE("term codec maps none, nil and undefined to None", "[term]") {
    for (const char *name : {"none", "nil", "undefined"}) {
        INFO(name);
        CHECK(decode(utf8_atom(name)).is_none());
        std::string latin1 = bytes({131, 100, 0, int(std::string(name).size())}) + name;
        CHECK(decode(latin1).is_none());
    }
    CHECK(encode(py::none()) == utf8_atom("none"));
}

TEST_CASE("term codec decodes other atoms as erlang.Atom that encode back", "[term]") {
    for (const std::string &name : {std::string("ok"),
                                    std::string("error"),
                                    std::string(""),
                                    std::string("with space"),
                                    std::string("True"),
                                    std::string(255, 'a')}) {
        INFO("atom '" << name << "'");
        for (const std::string &etf : {utf8_atom(name),
                                       bytes({131, 100, 0, int(name.size())}) + name,
                                       bytes({131, 115, int(name.size())}) + name,
                                       bytes({131, 118, 0, int(name.size())}) + name}) {
            py::object atom = decode(etf);
            CHECK(same_type(atom, types().atom));
            CHECK(equal(atom, py::str(name)));
            CHECK(encode(atom) == utf8_atom(name));
        }
    }
}

TEST_CASE("term codec tells apart atoms the decoder keeps", "[term]") {
    // More names than the table of recent atoms holds, each decoded twice;
    // the same bytes as latin-1 and as UTF-8 are different atoms.
    for (int round = 0; round < 2; ++round) {
        for (int i = 0; i < 300; ++i) {
            std::string name = "atom_" + std::to_string(i);
            py::object atom = decode(utf8_atom(name));
            CHECK(same_type(atom, types().atom));
            CHECK(equal(atom, py::str(name)));
        }
        std::string e_acute = "\xc3\xa9";
        py::object as_utf8 = decode(bytes({131, 119, 2}) + e_acute);
        py::object as_latin1 = decode(bytes({131, 115, 2}) + e_acute);
        CHECK(equal(as_utf8, eval_with_types("'\\u00e9'")));
        CHECK(equal(as_latin1, eval_with_types("'\\u00c3\\u00a9'")));
        CHECK_THROWS_AS(decode(bytes({131, 119, 1, 0xe9})), term_error);
    }
}

TEST_CASE("term codec keeps non-ASCII atoms", "[term]") {
    py::object from_latin1 = decode(erl_latin1_atom);
    CHECK(same_type(from_latin1, types().atom));
    CHECK(equal(from_latin1, eval_with_types("'h\\u00e9llo'")));
    CHECK(encode(from_latin1) == utf8_atom("h\xc3\xa9llo"));

    py::object from_utf8 = decode(utf8_atom("\xe6\x97\xa5\xe6\x9c\xac"));
    CHECK(equal(from_utf8, eval_with_types("'\\u65e5\\u672c'")));
    CHECK(encode(from_utf8) == utf8_atom("\xe6\x97\xa5\xe6\x9c\xac"));

    // 255 characters is the limit, however many bytes they take.
    std::string long_name;
    for (int i = 0; i < 255; ++i) {
        long_name += "\xe2\x82\xac";
    }
    py::object long_atom = decode(utf8_atom(long_name));
    CHECK(py::len(long_atom) == 255);
    CHECK(encode(long_atom) == utf8_atom(long_name));
}

TEST_CASE("term codec keeps an atom with a NUL character whole", "[term]") {
    std::string name("a\0b", 3);
    py::object atom = decode(bytes({131, 100, 0, 3}) + name);
    CHECK(equal(atom, py::str(name)));
    CHECK(encode(atom) == utf8_atom(name));
}

TEST_CASE("term codec refuses to encode an atom over 255 characters", "[term]") {
    CHECK(encode(eval_with_types("Atom('a' * 255)")) == utf8_atom(std::string(255, 'a')));
    CHECK_THROWS_AS(encode(eval_with_types("Atom('a' * 256)")), py::value_error);
    CHECK_THROWS_WITH(encode(eval_with_types("Atom('a' * 256)")), Contains("255 characters"));
}

TEST_CASE("term codec rejects an atom that is not valid UTF-8", "[term]") {
    CHECK_THROWS_AS(decode(bytes({131, 119, 2, 0xff, 0xfe})), term_error);
    CHECK_THROWS_AS(decode(bytes({131, 118, 0, 1, 0xc3})), term_error);
}

TEST_CASE("term codec rejects an over-long latin-1 atom without overflowing", "[term]") {
    // 511 latin-1 characters take 1021 bytes as UTF-8: past ei's atom buffer.
    std::string name = "a" + std::string(510, char(0xe9));
    std::string etf = bytes({131, 100, 0x01, 0xff}) + name;
    CHECK_THROWS_AS(decode(etf), term_error);
}

// ---- lists -----------------------------------------------------------------

TEST_CASE("term codec decodes STRING_EXT as a list of integers", "[term]") {
    py::object l = decode(bytes({131, 'k', 0, 3, 1, 2, 3}));
    CHECK(same_type(l, reinterpret_cast<PyObject *>(&PyList_Type)));
    CHECK(equal(l, eval_with_types("[1, 2, 3]")));
    CHECK(equal(decode(bytes({131, 'k', 0, 0})), eval_with_types("[]")));
    CHECK(equal(decode(bytes({131, 'k', 0, 2, 0, 255})), eval_with_types("[0, 255]")));
    // Sent back as a proper list of integers.
    CHECK(encode(l) == bytes({131, 108, 0, 0, 0, 3, 97, 1, 97, 2, 97, 3, 106}));
    // ei writes short integer lists as STRING_EXT too.
    etf_writer t;
    REQUIRE(ei_x_encode_string(t.get(), "abc") == 0);
    CHECK(equal(decode(t.str()), eval_with_types("[97, 98, 99]")));
}

TEST_CASE("term codec round-trips lists", "[term]") {
    CHECK(encode(eval_with_types("[]")) == bytes({131, 106}));
    CHECK(equal(decode(bytes({131, 106})), eval_with_types("[]")));
    for (const char *expr : {"[1, 'two', [3, [4]], b'\\xff', 2.5]", "[[]]", "list(range(1000))"}) {
        INFO(expr);
        py::object value = eval_with_types(expr);
        py::object back = decode(encode(value));
        CHECK(same_type(back, reinterpret_cast<PyObject *>(&PyList_Type)));
        CHECK(equal(back, value));
    }
}

TEST_CASE("term codec round-trips improper lists", "[term]") {
    // [1, 2 | 3]
    std::string etf = bytes({131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 97, 3});
    py::object l = decode(etf);
    CHECK(same_type(l, types().improper_list));
    CHECK(equal(l, eval_with_types("ImproperList([1, 2], 3)")));
    CHECK(encode(l) == etf);

    // [a | <<"b">>] and a nested improper tail.
    for (const char *expr : {"ImproperList([Atom('a')], 'b')",
                             "ImproperList([1], ImproperList([2], 3))",
                             "[ImproperList([(1, 2)], {})]"}) {
        INFO(expr);
        py::object value = eval_with_types(expr);
        CHECK(equal(decode(encode(value)), value));
    }
    // An empty improper list is just its tail: refuse rather than guess.
    CHECK_THROWS_AS(encode(eval_with_types("ImproperList([], 1)")), py::value_error);
}

// ---- tuples and maps -------------------------------------------------------

TEST_CASE("term codec round-trips tuples", "[term]") {
    CHECK(encode(eval_with_types("()")) == bytes({131, 104, 0}));
    for (const char *expr :
         {"()", "(1,)", "(Atom('ok'), 'text', [1, (2, 3)])", "tuple(range(300))"}) {
        INFO(expr);
        py::object value = eval_with_types(expr);
        py::object back = decode(encode(value));
        CHECK(same_type(back, reinterpret_cast<PyObject *>(&PyTuple_Type)));
        CHECK(equal(back, value));
    }
    CHECK(encode(eval_with_types("tuple(range(300))"))[1] == char(ERL_LARGE_TUPLE_EXT));
    CHECK(equal(decode(bytes({131, 105, 0, 0, 0, 2, 97, 1, 106})), eval_with_types("(1, [])")));
}

TEST_CASE("term codec round-trips maps as dicts", "[term]") {
    // #{1 => 2, a => <<"b">>}
    std::string etf
        = bytes({131, 116, 0, 0, 0, 2, 97, 1, 97, 2, 100, 0, 1, 'a', 109, 0, 0, 0, 1, 'b'});
    py::object d = decode(etf);
    CHECK(py::isinstance<py::dict>(d));
    CHECK(equal(d, eval_with_types("{1: 2, Atom('a'): 'b'}")));
    for (const char *expr : {"{}",
                             "{'k': [1, 2], (1, 2): {Atom('x'): None}, 3: 2.5}",
                             "{i: str(i) for i in range(100)}"}) {
        INFO(expr);
        py::object value = eval_with_types(expr);
        py::object back = decode(encode(value));
        CHECK(py::isinstance<py::dict>(back));
        CHECK(equal(back, value));
    }
}

TEST_CASE("term codec freezes a map key Python cannot hash", "[term]") {
    // #{[1] => 2}: the key arrives as erlang.FrozenList and goes back as a list.
    std::string etf = bytes({131, 116, 0, 0, 0, 1, 108, 0, 0, 0, 1, 97, 1, 106, 97, 2});
    py::dict d = decode(etf);
    REQUIRE(d.size() == 1);
    CHECK(type_name(d.begin()->first) == std::string("FrozenList"));
    CHECK(encode(d) == etf);
}

TEST_CASE("term codec decodes a nested Erlang term", "[term]") {
    py::object value = decode(erl_nested);
    py::object expected = eval_with_types(
        "(Atom('ok'), [1, 2.5, 'hi', {Atom('a'): ImproperList([Atom('x')], Atom('y'))}],"
        " -70000, 2**100)");
    CHECK(equal(value, expected));
    CHECK(same_type(value[py::int_(0)], types().atom));
    py::object inner = value[py::int_(1)][py::int_(3)];
    CHECK(same_type(inner[eval_with_types("Atom('a')")], types().improper_list));
    // Atoms come back as UTF-8 atom tags, so compare terms, not bytes.
    CHECK(equal(decode(encode(value)), expected));
}

// ---- opaque terms ----------------------------------------------------------

TEST_CASE("term codec keeps pids, refs, ports and funs as opaque wrappers", "[term]") {
    struct sample {
        const char *name;
        std::string etf;
        py::object cls;
        const char *kind; // OpaqueTerm.kind, or nullptr for Pid and Ref
    };
    std::vector<sample> samples = {
        {"NEW_PID_EXT", erl_pid, types().pid, nullptr},
        {"PID_EXT",
         bytes({131, 103}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 0, 0}),
         types().pid,
         nullptr},
        {"NEWER_REFERENCE_EXT", erl_ref, types().ref, nullptr},
        {"NEW_REFERENCE_EXT",
         bytes({131, 114, 0, 3}) + node + bytes({0}) + std::string(12, '\1'),
         types().ref,
         nullptr},
        {"REFERENCE_EXT", bytes({131, 101}) + node + bytes({0, 0, 0, 1, 0}), types().ref, nullptr},
        {"NEW_PORT_EXT", erl_port, types().opaque, "port"},
        {"PORT_EXT", bytes({131, 102}) + node + bytes({0, 0, 0, 1, 0}), types().opaque, "port"},
        {"V4_PORT_EXT",
         bytes({131, 120}) + node + bytes({0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}),
         types().opaque,
         "port"},
        {"NEW_FUN_EXT", erl_fun, types().opaque, "fun"},
        {"EXPORT_EXT", erl_export, types().opaque, "fun"},
        {"BIT_BINARY_EXT", erl_bits, types().opaque, "bitstring"},
    };
    for (const sample &s : samples) {
        INFO(s.name);
        py::object value = decode(s.etf);
        CHECK(same_type(value, s.cls));
        CHECK(equal(value.attr("etf"), py::bytes(s.etf.substr(1))));
        if (s.kind != nullptr) {
            CHECK(equal(value.attr("kind"), py::str(s.kind)));
        }
        CHECK(encode(value) == s.etf);
        // The same inside a container.
        std::string in_tuple = bytes({131, 104, 2}) + s.etf.substr(1) + bytes({97, 1});
        CHECK(encode(decode(in_tuple)) == in_tuple);
    }
    // Equal bytes, equal wrappers: usable as dict keys.
    CHECK(equal(decode(erl_pid), decode(erl_pid)));
    CHECK(py::hash(decode(erl_pid)) == py::hash(decode(erl_pid)));
}

TEST_CASE("term codec rejects an EXPORT_EXT that does not name a function", "[term]") {
    // fun 1:2/3 passes the structure check but is no fun.
    CHECK_THROWS_AS(decode(bytes({131, 113, 97, 1, 97, 2, 97, 3})), term_error);
}
