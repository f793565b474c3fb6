// Makes a native module at run time, so that its functions can hold the objects main() hands down.
#pragma once

#include <pybind11/pybind11.h>

namespace erlang_python {

namespace py = pybind11;

// Requires the GIL. An empty extension module `name`, already in
// sys.modules (so `import name` finds it); the caller defines its
// functions. `definition` must outlive the interpreter (a static).
// PYBIND11_EMBEDDED_MODULE would run an init function that takes no
// argument: its functions could only reach the port's objects through a
// global.
inline py::module_ make_native_module(const char *name, const char *doc, PyModuleDef &definition) {
    py::module_ m = py::module_::create_extension_module(name, doc, &definition);
    py::module_::import("sys").attr("modules")[name] = m;
    return m;
}

} // namespace erlang_python
