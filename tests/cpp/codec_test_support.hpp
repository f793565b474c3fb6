// Test support for the term codec: decode from a guarded copy, encode to ETF bytes.
#pragma once

#include "etf_test_support.hpp"
#include "python/python_types.hpp"
#include "terms/term_codec.hpp"

#include <pybind11/eval.h>
#include <string>

namespace etf_test {

namespace py = pybind11;

// Requires the GIL. Every decode in the tests reads from a guarded copy.
inline py::object decode(const std::string &etf,
                         std::size_t max_depth = erlang_python::default_max_depth) {
    guarded_copy copy(etf);
    return erlang_python::decode_term(copy.data(), etf.size(), max_depth);
}

// Requires the GIL. obj as ETF, with the version byte.
inline std::string encode(py::handle obj,
                          std::size_t max_depth = erlang_python::default_max_depth) {
    etf_writer t;
    erlang_python::encode_term(t.get(), obj, max_depth);
    return t.str();
}

// Requires the GIL. Evaluates a Python expression with the erlang._types
// names in scope.
inline py::object eval_with_types(const char *expr) {
    const erlang_python::python_types &t = erlang_python::types();
    py::dict scope;
    scope["Atom"] = t.atom;
    scope["Pid"] = t.pid;
    scope["Ref"] = t.ref;
    scope["OpaqueTerm"] = t.opaque;
    scope["ImproperList"] = t.improper_list;
    return py::eval(expr, scope);
}

inline bool equal(py::handle a, py::handle b) {
    return a.equal(b);
}

// <<1,2,3:4>>
inline const std::string erl_bits = bytes({131, 77, 0, 0, 0, 3, 4, 1, 2, 48});
// {ok, [1, 2.5, <<"hi">>, #{a => [x | y]}], -70000, 1 bsl 100}
inline const std::string erl_nested = bytes(
    {131, 104, 4,   100, 0, 2,   111, 107, 108, 0, 0,   0,   4,   97, 1,   70,  64, 4,   0,
     0,   0,   0,   0,   0, 109, 0,   0,   0,   2, 104, 105, 116, 0,  0,   0,   1,  100, 0,
     1,   97,  108, 0,   0, 0,   1,   100, 0,   1, 120, 100, 0,   1,  121, 106, 98, 255, 254,
     238, 144, 110, 13,  0, 0,   0,   0,   0,   0, 0,   0,   0,   0,  0,   0,   0,  16});

} // namespace etf_test
