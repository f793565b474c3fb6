// Test support for the term codec: decode from a guarded copy, encode to ETF bytes.
#pragma once

#include "etf_test_support.hpp"
#include "term_codec.hpp"

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

} // namespace etf_test
