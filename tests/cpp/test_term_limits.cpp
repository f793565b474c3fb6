// Catch2 tests of the term codec's limits: values with no Erlang form, nesting
// depth, and malformed or truncated input (every read from a guarded copy).
#include "codec_test_support.hpp"
#include "python/python_types.hpp"
#include "terms/term_codec.hpp"

#include <catch2/catch.hpp>
#include <cstring>
#include <ei.h>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

using namespace erlang_python;
using namespace etf_test;
using Catch::Matchers::Contains;

// ---- Python values with no Erlang form -------------------------------------

TEST_CASE("term codec raises a TypeError naming a type with no Erlang form", "[term]") {
    CHECK_THROWS_AS(encode(eval_with_types("object()")), py::type_error);
    CHECK_THROWS_WITH(encode(eval_with_types("object()")), Contains("'object'"));
    CHECK_THROWS_WITH(encode(eval_with_types("[1, {2: (3, __import__('decimal').Decimal(1))}]")),
                      Contains("'decimal.Decimal'"));
    CHECK_THROWS_WITH(encode(eval_with_types("1j")), Contains("'complex'"));
    CHECK_THROWS_WITH(encode(eval_with_types("type('Widget', (), {})()")), Contains("'Widget'"));
}

TEST_CASE("term codec raises a ValueError for a list that contains itself", "[term]") {
    py::list l;
    l.append(1);
    l.append(l);
    CHECK_THROWS_AS(encode(l), py::value_error);
    CHECK_THROWS_WITH(encode(l), Contains("contains itself"));
    l.attr("clear")(); // break the cycle

    py::dict d;
    d["self"] = d;
    CHECK_THROWS_AS(encode(d), py::value_error);
    d.attr("clear")();
}

TEST_CASE("term codec encodes nesting up to max_depth", "[term]") {
    // [[[[]]]]: the innermost list is at depth 3.
    py::object four = eval_with_types("[[[[]]]]");
    CHECK(encode(four, 3)
          == bytes({131, 108, 0, 0, 0, 1, 108, 0, 0, 0, 1, 108, 0, 0, 0, 1, 106, 106, 106, 106}));
    CHECK_THROWS_AS(encode(four, 2), py::value_error);
    CHECK(equal(decode(encode(four, 3), 3), four));
    CHECK_THROWS_AS(decode(encode(four, 3), 2), term_error);
}

TEST_CASE("term codec handles the default maximum depth both ways", "[term]") {
    // default_max_depth nested lists: accepted, and no stack overflow either way.
    py::list outer;
    py::list current = outer;
    for (std::size_t i = 1; i < default_max_depth; ++i) {
        py::list next;
        current.append(next);
        current = next;
    }
    current.append(1);
    std::string etf = encode(outer);
    py::object back = decode(etf);
    // Python's == would recurse too deep here: compare the bytes of a re-encoding.
    CHECK(encode(back) == etf);

    py::list deeper;
    deeper.append(outer);
    CHECK_THROWS_AS(encode(deeper), py::value_error);
    std::string deeper_etf = bytes({131, 108, 0, 0, 0, 1}) + etf.substr(1) + bytes({106});
    CHECK_THROWS_AS(decode(deeper_etf), term_error);

    // Tuples and maps at the limit too.
    std::string tuples(1, char(131));
    std::string maps(1, char(131));
    for (std::size_t i = 0; i < default_max_depth; ++i) {
        tuples += bytes({104, 1});
        maps += bytes({116, 0, 0, 0, 1, 97, 1});
    }
    tuples += bytes({100, 0, 2}) + "ok";
    maps += bytes({100, 0, 2}) + "ok";
    CHECK(py::isinstance<py::tuple>(decode(tuples)));
    CHECK(py::isinstance<py::dict>(decode(maps)));
}

// ---- malformed input -------------------------------------------------------

TEST_CASE("term codec throws term_error for every truncation", "[term]") {
    for (const std::string &term : {erl_nested, erl_fun, erl_pid, erl_ref, erl_export, erl_bits}) {
        REQUIRE_NOTHROW(decode(term));
        for (std::size_t n = 0; n < term.size(); ++n) {
            INFO("prefix of " << n << " of " << term.size() << " bytes");
            CHECK_THROWS_AS(decode(term.substr(0, n)), term_error);
        }
    }
}

TEST_CASE("term codec throws term_error for malformed input", "[term]") {
    struct sample {
        const char *name;
        std::string etf;
        const char *message;
    };
    std::vector<sample> samples = {
        {"empty", "", "missing ETF version byte 131 at byte 0"},
        {"no version byte", bytes({106}), "missing ETF version byte 131"},
        {"unknown tag", bytes({131, 80, 0, 0, 0, 0}), "unsupported ETF tag 80 at byte 2"},
        {"trailing bytes", bytes({131, 106, 106}), "trailing bytes after the term at byte 2"},
        {"arity past the end",
         bytes({131, 104, 9, 97, 1}),
         "arity larger than the remaining input"},
        {"bad bitstring", bytes({131, 77, 0, 0, 0, 1, 0, 0}), "bad bit count in a bitstring"},
        {"too many reference words",
         bytes({131, 90, 0, 6}) + node + std::string(28, '\0'),
         "reference with too many words"},
        {"fun size 4", bytes({131, 112, 0, 0, 0, 4}), "bad fun size"},
        {"pid without a node atom",
         bytes({131, 88, 97, 1}) + std::string(12, '\0'),
         "expected an atom"},
    };
    for (const sample &s : samples) {
        INFO(s.name);
        CHECK_THROWS_AS(decode(s.etf), term_error);
        CHECK_THROWS_WITH(decode(s.etf), Contains(s.message));
    }
}

TEST_CASE("term codec never reads a fun past its declared size", "[term]") {
    // A NEW_FUN_EXT whose Size is too small for the fields ei reads after it.
    std::string shrunk = erl_fun;
    shrunk[5] = char(40);
    CHECK_THROWS_AS(decode(shrunk.substr(0, 2 + 40)), term_error);
    for (std::uint32_t size = 4; size < 120; ++size) {
        std::string etf = erl_fun.substr(0, 2 + size);
        etf[2] = char(size >> 24);
        etf[3] = char(size >> 16);
        etf[4] = char(size >> 8);
        etf[5] = char(size);
        INFO("size " << size);
        CHECK_THROWS_AS(decode(etf), term_error);
    }
}
