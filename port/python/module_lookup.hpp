// Finds the module and function a request names, without the import machinery on the hot path.
#pragma once

#include <pybind11/pybind11.h>

namespace erlang_python {

namespace py = pybind11;

// Requires the GIL. The module `name` from sys.modules, imported on first
// use. A module already returned once is then found with one lookup in
// sys.modules (identity-checked, so a module replaced or removed there is
// looked up afresh).
py::object find_module(py::handle name);

// Requires the GIL. getattr(find_module(module), function). For a plain
// module the function is read from the module's __dict__ (so a reassigned
// attribute or a reloaded module is seen at once); anything else (module subclasses, __getattr__ fallbacks, dunder names,
// objects that are not modules) goes through getattr.
py::object find_function(py::handle module, py::handle function);

// Requires the GIL. The interned str of a module or function name sent as a
// UTF-8 binary, kept from one request to the next (its hash computed once,
// and found by identity in sys.modules and module dicts). Null, with no
// exception set, for a name that is not valid UTF-8:
// the caller then decodes the request as any term.
py::object name_str(const char *utf8, std::size_t size);

// Requires the GIL. Drops the modules and names remembered; call before the interpreter finalizes.
void release_module_lookup();

} // namespace erlang_python
