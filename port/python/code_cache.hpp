// Compiled code for eval/exec sources, kept in a small least-recently-used cache.
#pragma once

#include <pybind11/pybind11.h>

namespace erlang_python {

namespace py = pybind11;

// Requires the GIL. The code object of `source` (a str) compiled as
// "<string>" in `mode` (Py_eval_input or Py_file_input), as PyRun_String
// would compile it. The last 128 sources of up to 16 KiB per mode are kept,
// so a source run again is not parsed again. Throws py::error_already_set
// for a SyntaxError (which is not kept).
py::object compiled_code(py::handle source, int mode);

// Requires the GIL. Drops every code object kept; call before the interpreter finalizes.
void release_code_cache();

} // namespace erlang_python
