// Starts and stops the embedded CPython interpreter with the `erlang` package importable.
#include "app/interpreter.hpp"

#include "python/code_cache.hpp"
#include "python/module_lookup.hpp"
#include "python/python_types.hpp"
#include "python/venv.hpp"
#include "runtime/erlang_module.hpp"
#include "runtime/log_bridge.hpp"

#include <climits>
#include <stdexcept>
#include <unistd.h>

// The interpreter the port was built against (CMake's Python3_EXECUTABLE)
// and its sys.base_prefix.
#ifndef EP_PYTHON_EXECUTABLE
#define EP_PYTHON_EXECUTABLE "/usr/bin/python3"
#endif
#ifndef EP_PYTHON_HOME
#define EP_PYTHON_HOME "/usr"
#endif

namespace erlang_python {
namespace {

void check(PyStatus status) {
    if (PyStatus_Exception(status) != 0) {
        throw std::runtime_error(std::string("Python configuration failed: ")
                                 + (status.err_msg != nullptr ? status.err_msg : "unknown error"));
    }
}

// Before Python starts. pybind11's own defaults (an isolated config that
// reads the environment, no signal handlers), plus sys.executable: without
// a venv, getpath derives sys.prefix and the standard library from it. In
// a venv, site.py finds pyvenv.cfg beside it and makes the venv sys.prefix
// with its site-packages; the standard library stays the one this port was
// built with (`home'), even in a venv made by another build of the same
// Python version, whose library would not match this libpython.
PyConfig *configure(PyConfig &config, const options &o) {
    PyConfig_InitIsolatedConfig(&config);
    config.isolated = 0;
    config.use_environment = 1;
    config.install_signal_handlers = 0;
    if (o.venv.empty()) {
        check(PyConfig_SetBytesString(&config, &config.executable, EP_PYTHON_EXECUTABLE));
    } else {
        check(PyConfig_SetBytesString(&config, &config.executable, venv_python(o.venv).c_str()));
        check(PyConfig_SetBytesString(&config, &config.home, EP_PYTHON_HOME));
    }
    return &config;
}

} // namespace

std::string executable_dir() {
    char path[PATH_MAX];
    ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0) {
        return ".";
    }
    std::string p(path, std::size_t(n));
    auto slash = p.rfind('/');
    return slash == std::string::npos ? "." : p.substr(0, slash);
}

python_interpreter::python_interpreter(const options &o)
    : config_(), interpreter_(configure(config_, o)) {
    try {
        py::module_ sys = py::module_::import("sys");
        // fds 1 and 2 are pipes to Erlang's logger: send whole lines promptly.
        sys.attr("stdout").attr("reconfigure")(py::arg("line_buffering") = true);
        sys.attr("stderr").attr("reconfigure")(py::arg("line_buffering") = true);
        py::list path = sys.attr("path");
        // Our own package first, then the user's folders in the order given.
        path.insert(0, executable_dir() + "/python");
        std::size_t at = 1;
        for (const auto &dir : o.python_path) {
            path.insert(at++, dir);
        }
        // Each of them is a site dir: its .pth files are processed as
        // site-packages' are (their folders go to the end of sys.path).
        if (!o.python_path.empty()) {
            py::object addsitedir = py::module_::import("site").attr("addsitedir");
            for (const auto &dir : o.python_path) {
                addsitedir(dir);
            }
        }
        // The package `erlang` is not imported here: user code imports it, and
        // the term codec on the first value that needs one of its classes
        // (python_types.hpp). Start-up stays at the bare interpreter's cost.
    } catch (py::error_already_set &e) {
        // Turned into a plain exception while the interpreter still exists.
        throw std::runtime_error(std::string("Python start-up failed: ") + e.what());
    }
}

python_interpreter::~python_interpreter() {
    release_code_cache();
    release_module_lookup();
    release_python_types();
}

void start_port_modules(dispatcher &d, const options &o) {
    try {
        install_erlang_module(d);
        install_log_module(d.logging(), d.writer());
        apply_log_level(d.logging(), o.log_level);
        if (o.log_bridge) {
            // erlang.LogHandler goes on the root logger when `logging` is
            // first imported: no cost at start-up for code that never logs.
            py::module_::import("_erlang_startup").attr("install_log_bridge")();
        }
    } catch (py::error_already_set &e) {
        throw std::runtime_error(std::string("Python start-up failed: ") + e.what());
    }
}

std::string python_interpreter::python_version() {
    std::string v = Py_GetVersion();
    return v.substr(0, v.find(' '));
}

} // namespace erlang_python
