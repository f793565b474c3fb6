// Starts and stops the embedded CPython interpreter with the `erlang` package importable.
#pragma once

#include "runtime/options.hpp"

#include <pybind11/embed.h>
#include <string>

namespace erlang_python {

namespace py = pybind11;

// RAII: the interpreter lives as long as this object. The constructing
// thread holds the GIL afterwards. sys.executable (and from it sys.prefix)
// is set explicitly through PyConfig: the build's Python, or the venv's
// (options::venv), never whatever `python3` comes first on PATH.
class python_interpreter {
public:
    explicit python_interpreter(const options &o);
    ~python_interpreter();

    python_interpreter(const python_interpreter &) = delete;
    python_interpreter &operator=(const python_interpreter &) = delete;

    static std::string python_version();

private:
    PyConfig config_; // read by interpreter_'s constructor, which clears it
    py::scoped_interpreter interpreter_;
};

// The folder holding this executable (priv/ of the OTP application).
std::string executable_dir();

} // namespace erlang_python
