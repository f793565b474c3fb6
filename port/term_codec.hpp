// The one place where ETF and Python objects are converted into each other.
#pragma once

#include "term_check.hpp"

#include <ei.h>
#include <pybind11/pybind11.h>
#include <stdexcept>

namespace erlang_python {

namespace py = pybind11;

// A malformed or unsupported ETF term arrived.
class term_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// Requires the GIL. Decodes one whole ETF term (with its version byte) into a
// Python object. Throws term_error for malformed input, py::error_already_set
// for Python-level failures (e.g. an unhashable map key).
py::object decode_term(const char *data, std::size_t size,
                       std::size_t max_depth = default_max_depth);

// Requires the GIL. Appends obj as ETF (no version byte) to x. Raises a
// Python TypeError naming the type for objects with no Erlang form.
void encode_term(ei_x_buff *x, py::handle obj, std::size_t max_depth = default_max_depth);

// Requires the GIL. Appends the list of `count` objects at `items` (held by
// the caller) as ETF, exactly as encode_term would a Python list of them.
void encode_list(ei_x_buff *x, PyObject *const *items, std::size_t count,
                 std::size_t max_depth = default_max_depth);

} // namespace erlang_python
